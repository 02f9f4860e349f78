//! The built-in rule pack as Rust source: `build.rs` compiles `rules/*.yaml` with this
//! library's own compiler and writes the result out as static data (`$OUT_DIR/builtin_pack.rs`,
//! included by `rules::builtin`), so a cold start neither compiles nor decodes the pack —
//! the compiled rules are part of the binary, read where they lie.
//!
//! Each compiled part that is pointed to or listed (a check, a negated node, a macro's node,
//! a field, an `and`/`or`'s items, a set's values and table, an output's parts) becomes a
//! `static` of its own, named by number, and is pointed to by name: a static may refer to
//! another, whereas a reference to a temporary inside one would not live long enough. What
//! the compiler shares stays shared: a macro's node and each distinct field are written once
//! and pointed to by every rule that uses them.
//!
//! In a binary linked at a fixed address (`build.rs`, `link_position_dependent`) these
//! pointers are filled in by the linker: nothing for the loader to do at start-up.

use std::collections::HashMap;
use std::fmt::Write;

use super::RuleSet;
use super::compile::{CRhs, Check, Node, Ptr};
use super::fields::Field;
use super::index::Required;
use super::output::{Output, Part};
use super::{RuleInfo, load::Compiled};

/// The file `build.rs` writes: `PACK` is `Some` of `set`, or `None` when the pack did not
/// compile (the binary then compiles the sources at run time, where the errors are shown).
pub fn pack_source(set: Option<&RuleSet>) -> String {
    let mut w = Emitter::default();
    let pack = match set {
        None => "None".to_string(),
        Some(set) => {
            let infos: Vec<String> = set.infos.iter().map(|i| w.info(i)).collect();
            let compiled: Vec<String> = set.compiled.iter().map(|c| w.compiled(c)).collect();
            let required: Vec<String> = super::conditions(&set.infos, &set.compiled)
                .into_iter()
                .map(|node| match node {
                    None => "None".to_string(),
                    Some(node) => w.required(&Required::of(node)),
                })
                .collect();
            // The macros a batch memo keeps results of, by their node's item (every one is a
            // macro's node, so already written), sorted: the map's order is a hash's.
            let mut single_field: Vec<String> = set
                .single_field
                .iter()
                .map(|(address, path)| {
                    let node = w.shared[address].clone();
                    format!("(&{node}, &{})", w.path(path))
                })
                .collect();
            single_field.sort();
            let infos = w.array("RuleInfo", infos);
            let compiled = w.array("Compiled", compiled);
            let required = w.array("Option<Required<'static>>", required);
            let single_field = w.array("(&Node, &[&str])", single_field);
            format!(
                "Some(Pack {{ infos: &{infos}, compiled: &{compiled}, required: &{required}, \
                 single_field: &{single_field} }})"
            )
        }
    };
    format!(
        "// Written by build.rs: the built-in rule pack, compiled (src/rules/codegen.rs).\n\
         pub(super) static PACK: Option<Pack> = {pack};\n{}",
        w.items
    )
}

#[derive(Default)]
struct Emitter {
    /// The `static` items written so far.
    items: String,
    count: usize,
    /// Macro nodes already written, by address → their item.
    shared: HashMap<usize, String>,
    /// Fields already written, by their text (`name` or `name[arg]`) → their item.
    fields: HashMap<String, String>,
    /// Field paths already written → their item.
    paths: HashMap<Vec<String>, String>,
}

impl Emitter {
    /// A new `static` holding `value`; its name.
    fn item(&mut self, ty: &str, value: &str) -> String {
        let name = format!("I{}", self.count);
        self.count += 1;
        writeln!(self.items, "static {name}: {ty} = {value};").expect("writing to a String");
        name
    }

    fn array(&mut self, ty: &str, values: Vec<String>) -> String {
        let ty = format!("[{ty}; {}]", values.len());
        self.item(&ty, &format!("[{}]", values.join(", ")))
    }

    /// A slice of `values`, as a `List` (`Cow::Borrowed`) expression.
    fn list(&mut self, ty: &str, values: Vec<String>) -> String {
        format!("Cow::Borrowed(&{})", self.array(ty, values))
    }

    fn texts<S: AsRef<str>>(&mut self, values: &[S]) -> String {
        let values = values.iter().map(|s| text(s.as_ref())).collect();
        self.list("Text", values)
    }

    fn info(&mut self, info: &RuleInfo) -> String {
        format!(
            "RuleInfo {{ id: {}, name: {}, severity: Severity::{:?}, priority: {}, tags: {}, \
             desc: {}, source: {}, enabled: {} }}",
            text(&info.id),
            text(&info.name),
            info.severity,
            text(&info.priority),
            self.texts(&info.tags),
            text(&info.desc),
            text(&info.source),
            info.enabled
        )
    }

    fn compiled(&mut self, compiled: &Compiled) -> String {
        let node = self.node(&compiled.node);
        let output = self.output(&compiled.output);
        format!("Compiled {{ node: {node}, output: {output} }}")
    }

    fn required(&mut self, required: &Required<'_>) -> String {
        let mut values = |v: &Option<std::borrow::Cow<'_, [&str]>>| match v {
            None => "None".to_string(),
            Some(v) => {
                let values = v.iter().map(|s| format!("{s:?}")).collect();
                format!("Some({})", self.list("&str", values))
            }
        };
        let verb = values(&required.verb);
        let resource = values(&required.resource);
        format!("Some(Required {{ verb: {verb}, resource: {resource} }})")
    }

    fn node(&mut self, node: &Node) -> String {
        match node {
            Node::Const(b) => format!("Node::Const({b})"),
            Node::And(items) | Node::Or(items) => {
                let variant = if matches!(node, Node::And(_)) {
                    "And"
                } else {
                    "Or"
                };
                let items = items.iter().map(|n| self.node(n)).collect();
                format!("Node::{variant}({})", self.list("Node", items))
            }
            Node::Not(inner) => {
                let value = self.node(inner);
                format!("Node::Not(Ptr::Static(&{}))", self.item("Node", &value))
            }
            Node::Check(check) => {
                let value = self.check(check);
                format!("Node::Check(Ptr::Static(&{}))", self.item("Check", &value))
            }
            Node::Shared(inner) => {
                let address = Ptr::addr(inner);
                let name = match self.shared.get(&address) {
                    Some(name) => name.clone(),
                    None => {
                        let value = self.node(inner);
                        let name = self.item("Node", &value);
                        self.shared.insert(address, name.clone());
                        name
                    }
                };
                format!("Node::Shared(Ptr::Static(&{name}))")
            }
        }
    }

    fn check(&mut self, check: &Check) -> String {
        let field = self.field(&check.field);
        let rhs = match &check.rhs {
            CRhs::None => "CRhs::None".to_string(),
            CRhs::One {
                text: t,
                num,
                bytes,
            } => {
                let num = match num {
                    None => "None".to_string(),
                    Some(n) => format!("Some(f64::from_bits({:#x}))", n.to_bits()),
                };
                let bytes = bytes.iter().map(|b| b.to_string()).collect();
                let bytes = self.list("u8", bytes);
                format!(
                    "CRhs::One {{ text: {}, num: {num}, bytes: {bytes} }}",
                    text(t)
                )
            }
            CRhs::Set(set) => {
                let items = self.texts(&set.items);
                let slots = set.slots.iter().map(|s| s.to_string()).collect();
                let slots = self.list("u32", slots);
                format!("CRhs::Set(TextSet {{ items: {items}, slots: {slots} }})")
            }
            CRhs::Paths(paths) => format!("CRhs::Paths({})", self.texts(paths)),
        };
        format!(
            "Check {{ field: {field}, op: Op::{:?}, rhs: {rhs} }}",
            check.op
        )
    }

    /// A pointer to the field's item, written on first use.
    fn field(&mut self, field: &Field) -> String {
        let name = match self.fields.get(field.name()) {
            Some(name) => name.clone(),
            None => {
                let value = field.to_rust(|p| self.path(p));
                let name = self.item("Field", &value);
                self.fields.insert(field.name().to_string(), name.clone());
                name
            }
        };
        format!("Ptr::Static(&{name})")
    }

    /// The item holding `path` (`["user", "username"]`), written on first use.
    fn path(&mut self, path: &[&str]) -> String {
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        if let Some(name) = self.paths.get(&key) {
            return name.clone();
        }
        let values = path.iter().map(|s| format!("{s:?}")).collect();
        let name = self.array("&str", values);
        self.paths.insert(key, name.clone());
        name
    }

    fn output(&mut self, output: &Output) -> String {
        let parts = output
            .parts
            .iter()
            .map(|p| match p {
                Part::Lit(t) => format!("Part::Lit({})", text(t)),
                Part::Field(f) => format!("Part::Field({})", self.field(f)),
            })
            .collect();
        format!("Output {{ parts: {} }}", self.list("Part", parts))
    }
}

/// A `Text` expression for `s`: `Debug` writes a string as a valid Rust literal.
pub(super) fn text(s: &str) -> String {
    format!("Cow::Borrowed({s:?})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleSource;
    use std::borrow::Cow;

    /// The pack compiled from its YAML, the slow way.
    fn compiled_from_sources() -> RuleSet {
        RuleSet::load(&RuleSet::builtin_sources()).unwrap().0
    }

    fn static_pack() -> RuleSet {
        RuleSet::from_static_pack().expect("build.rs wrote the compiled pack")
    }

    /// What build.rs wrote is what the compiler makes of the YAML now: every rule's text,
    /// condition (operands, sets in order, fields) and output, and the index.
    #[test]
    fn the_static_pack_is_the_compiled_pack() {
        let (built, compiled) = (static_pack(), compiled_from_sources());
        assert_eq!(built.infos, compiled.infos);
        assert_eq!(
            format!("{:?}", built.compiled),
            format!("{:?}", compiled.compiled)
        );
        assert!(built.index == compiled.index);
        let conditions = super::super::conditions(&built.infos, &built.compiled);
        assert!(built.index == super::super::index::RuleIndex::build(&conditions));
        let roots: Vec<&Node> = conditions.into_iter().flatten().collect();
        assert_eq!(
            built.single_field,
            super::super::compile::single_field_macros(&roots)
        );
        assert!(built.single_field.len() > 3, "{:?}", built.single_field);
        // Most rules pin both fields; that is what makes the index worth having.
        let (verb, resource) = built.index.pinned_counts();
        assert!(verb > 30 && resource > 30, "{verb} {resource}");
        // And it is borrowed where it lies, not copied.
        assert!(matches!(
            (&built.infos, &built.compiled),
            (Cow::Borrowed(_), Cow::Borrowed(_))
        ));
        assert!(
            built
                .rules()
                .iter()
                .all(|r| matches!(r.desc, Cow::Borrowed(_)))
        );
    }

    /// The CLI's rule loading, with nothing added to the pack, takes the static pack too;
    /// with an operator's file it compiles both together.
    #[test]
    fn the_pack_alone_is_never_compiled_again() {
        let (alone, warnings) = RuleSet::load_with_builtin(true, Vec::new()).unwrap();
        assert!(warnings.is_empty());
        assert!(matches!(alone.compiled, Cow::Borrowed(_)));
        let extra = RuleSource {
            name: "mine.yaml".into(),
            text: "- rule: Mine\n  desc: d\n  condition: ka.verb = get\n  output: o\n  \
                   priority: info\n"
                .into(),
        };
        let (both, _) = RuleSet::load_with_builtin(true, vec![extra]).unwrap();
        assert!(matches!(both.compiled, Cow::Owned(_)));
        assert_eq!(both.rules().len(), alone.rules().len() + 1);
    }

    fn walk<'n>(node: &'n Node, out: &mut Vec<&'n Node>) {
        out.push(node);
        match node {
            Node::And(items) | Node::Or(items) => items.iter().for_each(|n| walk(n, out)),
            Node::Not(inner) | Node::Shared(inner) => walk(inner, out),
            Node::Const(_) | Node::Check(_) => {}
        }
    }

    #[test]
    fn macros_and_fields_stay_shared() {
        let set = static_pack();
        let mut nodes = Vec::new();
        for c in set.compiled.iter() {
            walk(&c.node, &mut nodes);
        }
        // `eaw_kevt` alone is named by most rules: one node, pointed to from each.
        let mut uses: HashMap<usize, usize> = HashMap::new();
        for node in &nodes {
            if let Node::Shared(inner) = node {
                assert!(matches!(inner, Ptr::Static(_)));
                *uses.entry(Ptr::addr(inner)).or_default() += 1;
            }
        }
        assert!(uses.values().any(|&n| n > 20), "{uses:?}");
        // Checks (and outputs) share one field per distinct field.
        let checks: Vec<&Check> = nodes
            .iter()
            .filter_map(|n| match n {
                Node::Check(c) => Some(&**c),
                _ => None,
            })
            .collect();
        let verbs: Vec<usize> = checks
            .iter()
            .filter(|c| c.field.plain_path() == Some(&["verb"][..]))
            .map(|c| Ptr::addr(&c.field))
            .collect();
        assert!(verbs.len() > 10, "{} checks of ka.verb", verbs.len());
        assert!(verbs.iter().all(|&a| a == verbs[0]));
        // A batch memo's macro reads its field's path where the field's checks do (the rules
        // memo a path's text per event by the path's address).
        let paths: std::collections::HashSet<*const &str> = checks
            .iter()
            .filter_map(|c| c.field.plain_path())
            .map(<[&str]>::as_ptr)
            .collect();
        assert!(
            set.single_field
                .values()
                .all(|p| paths.contains(&p.as_ptr()))
        );
        let distinct: std::collections::HashSet<usize> =
            checks.iter().map(|c| Ptr::addr(&c.field)).collect();
        assert!(
            distinct.len() < 100 && checks.len() > 400,
            "{} {}",
            distinct.len(),
            checks.len()
        );
    }

    /// The writer's output for a pack with what the built-in one lacks: escapes in text, a
    /// number operand, hex bytes, paths, an argument, a disabled rule, nested negation.
    #[test]
    fn the_writer_spells_out_every_part() {
        let src = RuleSource {
            name: "t.yaml".into(),
            text: r#"
- macro: m
  condition: ka.verb in (get, list) and ka.verb != "x\"y"
- rule: R "1"
  desc: "tab\tthen \\ and é"
  condition: >
    m and not (ka.req.pod.containers.image.repository pmatch (/a, /b)
    or jevt.value[/requestObject/x] bcontains 6869 or ka.response.code > 400)
  output: "%ka.user.name did it %jevt.value[/requestObject/x]"
  priority: warning
  tags: [a, b]
- rule: off
  desc: d
  condition: m
  output: o
  priority: info
  enabled: false
"#
            .into(),
        };
        let (set, _) = RuleSet::load(&[src]).unwrap();
        let source = pack_source(Some(&set));
        for expected in [
            r#"Cow::Borrowed("tab\tthen \\ and é")"#,
            r#"Cow::Borrowed("R \"1\"")"#,
            r#"Cow::Borrowed("x\"y")"#,
            "Some(f64::from_bits(0x4079000000000000))",
            "[u8; 2] = [104, 105]",
            r#"Arg::Key(Cow::Borrowed("/requestObject/x"))"#,
            "enabled: false",
            "Node::Not(Ptr::Static(&",
            "Severity::Medium",
        ] {
            assert!(source.contains(expected), "{expected} not in:\n{source}");
        }
        // One item per macro node and per distinct field, however often named.
        assert_eq!(source.matches(": Field = ").count(), 5, "{source}");
        assert_eq!(source.matches("Node::Shared(").count(), 2);
        assert!(pack_source(None).contains("static PACK: Option<Pack> = None;"));
    }
}
