//! A compiled [`RuleSet`] as bytes, so the built-in pack is compiled once, by `build.rs`,
//! instead of at every cold start: loading it from YAML (parse, expand macros and lists,
//! resolve fields, parse outputs) is most of the function's own start-up time, and decoding
//! the result is a small fraction of that.
//!
//! The format is private to one build: `build.rs` compiles this same file and the rules
//! compiler, so encoder and decoder always agree. It stores what the compiler produced, not
//! its inputs, except where re-deriving is cheap and exact: a field is stored as its name
//! and argument and resolved again (once per distinct field), a check as its operator and
//! operand values (the number and hex forms are derived from the text, as the compiler
//! derives them). Every string is stored once, in one table checked as UTF-8 once; the
//! decoded rule set borrows its text from it ([`Text`]), so decoding copies no strings.
//! Macros shared between rules stay shared. Sets are written sorted, so the bytes do not
//! depend on hash order. Anything unexpected while decoding yields `None` and the caller
//! compiles the sources instead.

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::Op;
use super::compile::{CRhs, Check, Node};
use super::fields::Field;
use super::index::{Required, RuleIndex};
use super::load::Compiled;
use super::output::{Output, Part};
use super::{RuleInfo, RuleSet, Text};
use crate::severity::Severity;

const MAGIC: &[u8] = b"eaw-rules/3\n";

/// The bytes of `set`: a table of every distinct string (checked as UTF-8 once when
/// decoding, then borrowed by the rule set instead of copied), a table of every distinct
/// field (resolved once, whatever the number of checks and outputs naming it), then the
/// rules.
pub fn encode(set: &RuleSet) -> Vec<u8> {
    let mut w = Writer::default();
    w.len(set.infos.len());
    for (info, compiled) in set.infos.iter().zip(&set.compiled) {
        w.info(info);
        w.node(&compiled.node);
        w.output(&compiled.output);
        // What the index needs of the rule, so decoding need not work it out again.
        let required = Required::of(&compiled.node);
        w.values(required.verb.as_deref());
        w.values(required.resource.as_deref());
    }
    // The rules name fields by number: the field table goes before them, and its strings
    // into the same string table.
    let rules = std::mem::take(&mut w.out);
    let fields = std::mem::take(&mut w.fields);
    w.len(fields.len());
    for (name, arg) in &fields {
        w.str(name);
        match arg {
            None => w.out.push(ARG_NONE),
            Some(arg) => {
                w.out.push(ARG_SOME);
                w.str(arg);
            }
        }
    }
    let field_table = std::mem::replace(&mut w.out, MAGIC.to_vec());
    let table = std::mem::take(&mut w.table);
    w.len(table.len());
    w.out.extend_from_slice(&table);
    w.out.extend_from_slice(&field_table);
    w.out.extend_from_slice(&rules);
    w.out
}

/// The rule set `bytes` hold, or `None` when they are not a snapshot of this build. The
/// rule set borrows its text from `bytes`, which is why they live as long as the program
/// (the built-in snapshot is part of the binary).
pub fn decode(bytes: &'static [u8]) -> Option<RuleSet> {
    let mut r = Reader {
        rest: bytes.strip_prefix(MAGIC)?,
        table: "",
        fields: Vec::new(),
        shared: Vec::new(),
    };
    let table_len = r.len()?;
    let (table, rest) = r.rest.split_at_checked(table_len)?;
    r.table = std::str::from_utf8(table).ok()?;
    r.rest = rest;
    let n = r.len()?;
    r.fields = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?;
        let arg = match r.byte()? {
            ARG_NONE => None,
            ARG_SOME => Some(r.str()?),
            _ => return None,
        };
        r.fields
            .push(Arc::new(Field::resolve_static(name, arg).ok()?));
    }
    let n = r.len()?;
    let mut infos = Vec::with_capacity(n);
    let mut compiled = Vec::with_capacity(n);
    let mut required = Vec::with_capacity(n);
    for _ in 0..n {
        let info = r.info()?;
        let node = r.node(0)?;
        let output = r.output()?;
        let verb = r.values()?;
        let resource = r.values()?;
        required.push(info.enabled.then_some(Required { verb, resource }));
        infos.push(info);
        compiled.push(Compiled { node, output });
    }
    if !r.rest.is_empty() {
        return None;
    }
    let index = RuleIndex::from_required(&required);
    Some(RuleSet::assemble_indexed(infos, compiled, index))
}

// Node tags.
const FALSE: u8 = 0;
const TRUE: u8 = 1;
const AND: u8 = 2;
const OR: u8 = 3;
const NOT: u8 = 4;
const CHECK: u8 = 5;
/// A shared (macro) node seen for the first time: its node follows; it gets the next number.
const SHARED_FIRST: u8 = 6;
/// A shared node already written: its number follows.
const SHARED_AGAIN: u8 = 7;

// Field argument and output part tags.
const ARG_NONE: u8 = 0;
const ARG_SOME: u8 = 1;
const PART_LIT: u8 = 0;
const PART_FIELD: u8 = 1;

/// Nesting the decoder follows (a bound on its recursion, whatever the bytes say): far
/// deeper than the built-in pack goes. A deeper snapshot is refused like a damaged one, and
/// the pack is compiled from its sources instead (a test checks the embedded one decodes).
const MAX_DEPTH: usize = 256;

#[derive(Default)]
struct Writer {
    out: Vec<u8>,
    /// Shared nodes by address → their number.
    shared: HashMap<*const Node, usize>,
    /// The string table and where each string in it starts.
    table: Vec<u8>,
    strings: HashMap<String, usize>,
    /// Distinct fields as name and argument, numbered in order of first use.
    fields: Vec<(String, Option<String>)>,
    field_numbers: HashMap<(String, Option<String>), usize>,
}

impl Writer {
    fn len(&mut self, n: usize) {
        // LEB128: 7 bits per byte, high bit set on all but the last.
        let mut n = n as u64;
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    /// A string as its offset in the table and its length.
    fn str(&mut self, s: &str) {
        let at = match self.strings.get(s) {
            Some(&at) => at,
            None => {
                let at = self.table.len();
                self.table.extend_from_slice(s.as_bytes());
                self.strings.insert(s.to_string(), at);
                at
            }
        };
        self.len(at);
        self.len(s.len());
    }

    fn info(&mut self, info: &RuleInfo) {
        self.str(&info.id);
        self.str(&info.name);
        self.str(info.severity.as_str());
        self.str(&info.priority);
        self.len(info.tags.len());
        for tag in &info.tags {
            self.str(tag);
        }
        self.str(&info.desc);
        self.str(&info.source);
        self.out.push(info.enabled as u8);
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Const(b) => self.out.push(if *b { TRUE } else { FALSE }),
            Node::And(items) | Node::Or(items) => {
                self.out.push(if matches!(node, Node::And(_)) {
                    AND
                } else {
                    OR
                });
                self.len(items.len());
                for item in items {
                    self.node(item);
                }
            }
            Node::Not(inner) => {
                self.out.push(NOT);
                self.node(inner);
            }
            Node::Check(check) => {
                self.out.push(CHECK);
                self.check(check);
            }
            Node::Shared(inner) => {
                let next = self.shared.len();
                match self.shared.get(&Arc::as_ptr(inner)) {
                    Some(&number) => {
                        self.out.push(SHARED_AGAIN);
                        self.len(number);
                    }
                    None => {
                        self.shared.insert(Arc::as_ptr(inner), next);
                        self.out.push(SHARED_FIRST);
                        self.node(inner);
                    }
                }
            }
        }
    }

    fn check(&mut self, check: &Check) {
        self.field(&check.field);
        self.str(check.op.as_str());
        let mut values: Vec<&str> = match &check.rhs {
            CRhs::None => Vec::new(),
            CRhs::One { text, .. } => vec![text],
            CRhs::Set(set) => set.iter().map(AsRef::as_ref).collect(),
            CRhs::Paths(paths) => paths.iter().map(AsRef::as_ref).collect(),
        };
        if let CRhs::Set(_) = check.rhs {
            values.sort_unstable();
        }
        self.strs(&values);
    }

    /// A count, then that many strings.
    fn strs(&mut self, values: &[&str]) {
        self.len(values.len());
        for v in values {
            self.str(v);
        }
    }

    /// A list of strings, or none.
    fn values(&mut self, values: Option<&[&str]>) {
        match values {
            None => self.out.push(0),
            Some(values) => {
                self.out.push(1);
                self.strs(values);
            }
        }
    }

    /// A field as its number in the field table.
    fn field(&mut self, field: &Field) {
        let (name, arg) = field.source();
        let key = (name.to_string(), arg.map(String::from));
        let next = self.fields.len();
        let number = *self.field_numbers.entry(key.clone()).or_insert(next);
        if number == next {
            self.fields.push(key);
        }
        self.len(number);
    }

    fn output(&mut self, output: &Output) {
        self.len(output.parts.len());
        for part in &output.parts {
            match part {
                Part::Lit(text) => {
                    self.out.push(PART_LIT);
                    self.str(text);
                }
                Part::Field(field) => {
                    self.out.push(PART_FIELD);
                    self.field(field);
                }
            }
        }
    }
}

struct Reader {
    rest: &'static [u8],
    /// Every string of the snapshot, checked as UTF-8 once.
    table: &'static str,
    /// The snapshot's distinct fields, resolved once.
    fields: Vec<Arc<Field>>,
    /// Shared nodes in the order they were first written.
    shared: Vec<Arc<Node>>,
}

impl Reader {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    /// A LEB128 number.
    fn number(&mut self) -> Option<usize> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return usize::try_from(n).ok();
            }
        }
        None
    }

    /// A count or length: no more than the bytes left, which bounds every allocation.
    fn len(&mut self) -> Option<usize> {
        self.number().filter(|&n| n <= self.rest.len())
    }

    /// A string of the table (`str::get` refuses a range off the table or off a character
    /// boundary).
    fn str(&mut self) -> Option<&'static str> {
        let at = self.offset()?;
        let len = self.offset()?;
        self.table.get(at..at.checked_add(len)?)
    }

    /// An offset or length into the string table.
    fn offset(&mut self) -> Option<usize> {
        self.number().filter(|&n| n <= self.table.len())
    }

    /// What [`Writer::values`] wrote: `Some(None)` for no list.
    fn values(&mut self) -> Option<Option<Vec<&'static str>>> {
        match self.byte()? {
            0 => Some(None),
            1 => self.strs().map(Some),
            _ => None,
        }
    }

    /// What [`Writer::strs`] wrote.
    fn strs(&mut self) -> Option<Vec<&'static str>> {
        let n = self.len()?;
        let mut values = Vec::with_capacity(n);
        for _ in 0..n {
            values.push(self.str()?);
        }
        Some(values)
    }

    fn text(&mut self) -> Option<Text> {
        self.str().map(Text::Borrowed)
    }

    fn info(&mut self) -> Option<RuleInfo> {
        let id = self.text()?;
        let name = self.text()?;
        let severity = Severity::parse(self.str()?)?;
        let priority = self.text()?;
        let tags = (0..self.len()?)
            .map(|_| self.text())
            .collect::<Option<_>>()?;
        Some(RuleInfo {
            id,
            name,
            severity,
            priority,
            tags,
            desc: self.text()?,
            source: self.text()?,
            enabled: match self.byte()? {
                0 => false,
                1 => true,
                _ => return None,
            },
        })
    }

    fn node(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.byte()? {
            FALSE => Node::Const(false),
            TRUE => Node::Const(true),
            tag @ (AND | OR) => {
                let items = (0..self.len()?)
                    .map(|_| self.node(depth + 1))
                    .collect::<Option<_>>()?;
                if tag == AND {
                    Node::And(items)
                } else {
                    Node::Or(items)
                }
            }
            NOT => Node::Not(Box::new(self.node(depth + 1)?)),
            CHECK => Node::Check(Box::new(self.check()?)),
            SHARED_FIRST => {
                // Numbered before its children, as the writer numbered it.
                let number = self.shared.len();
                self.shared.push(Arc::new(Node::Const(false)));
                let node = Arc::new(self.node(depth + 1)?);
                self.shared[number] = Arc::clone(&node);
                Node::Shared(node)
            }
            SHARED_AGAIN => {
                let number = self.number()?;
                Node::Shared(Arc::clone(self.shared.get(number)?))
            }
            _ => return None,
        })
    }

    fn check(&mut self) -> Option<Check> {
        let field = Arc::clone(self.field()?);
        let op = Op::from_text(self.str()?)?;
        Check::from_values(field, op, self.strs()?)
    }

    fn field(&mut self) -> Option<&Arc<Field>> {
        let number = self.number()?;
        self.fields.get(number)
    }

    fn output(&mut self) -> Option<Output> {
        let parts = (0..self.len()?)
            .map(|_| match self.byte()? {
                PART_LIT => Some(Part::Lit(self.text()?)),
                PART_FIELD => Some(Part::Field(Arc::clone(self.field()?))),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(Output { parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pack compiled from its YAML, the slow way.
    fn compiled_from_sources() -> RuleSet {
        RuleSet::load(&RuleSet::builtin_sources()).unwrap().0
    }

    #[test]
    fn build_rs_embedded_a_snapshot_that_decodes_to_the_compiled_pack() {
        let embedded = crate::pack::BUILTIN_SNAPSHOT;
        assert!(
            decode(embedded).is_some(),
            "build.rs did not embed a decodable snapshot ({} bytes)",
            embedded.len()
        );
        // Byte-equal to encoding what the loader compiles now: the snapshot is not stale
        // and the encoding does not depend on hash order.
        assert!(embedded == encode(&compiled_from_sources()).as_slice());
        assert!(embedded == encode(&decode(embedded).unwrap()).as_slice());
    }

    /// The index a snapshot stores is the one the conditions give.
    #[test]
    fn stored_index_is_the_built_one() {
        let set = decode(crate::pack::BUILTIN_SNAPSHOT).unwrap();
        let compiled = compiled_from_sources();
        assert!(set.index == compiled.index);
        let conditions = super::super::conditions(&set.infos, &set.compiled);
        assert!(set.index == RuleIndex::build(&conditions));
        // Most rules pin both fields; that is what makes the index worth having.
        let (verb, resource) = set.index.pinned_counts();
        assert!(verb > 30 && resource > 30, "{verb} {resource}");
    }

    #[test]
    fn snapshot_keeps_macros_shared() {
        let set = decode(crate::pack::BUILTIN_SNAPSHOT).unwrap();
        let mut shared = HashMap::new();
        fn walk(node: &Node, seen: &mut HashMap<*const Node, usize>) {
            match node {
                Node::And(items) | Node::Or(items) => items.iter().for_each(|n| walk(n, seen)),
                Node::Not(inner) => walk(inner, seen),
                Node::Shared(inner) => {
                    *seen.entry(Arc::as_ptr(inner)).or_default() += 1;
                    walk(inner, seen);
                }
                Node::Const(_) | Node::Check(_) => {}
            }
        }
        for c in &set.compiled {
            walk(&c.node, &mut shared);
        }
        // `eaw_kevt` alone is named by most rules; decoding must not copy it per rule.
        assert!(shared.values().any(|&uses| uses > 20), "{shared:?}");
    }

    /// `bytes` kept for the rest of the test run, as the rule set decoded from them borrows
    /// them (the built-in snapshot is `'static` by being part of the binary).
    fn leak(bytes: Vec<u8>) -> &'static [u8] {
        Box::leak(bytes.into_boxed_slice())
    }

    #[test]
    fn damaged_snapshots_are_refused_not_misread() {
        let good = leak(encode(&compiled_from_sources()));
        assert!(decode(good).is_some());
        assert!(decode(&[]).is_none());
        assert!(decode(b"eaw-rules/1\n").is_none());
        // Every truncation, and a byte flipped at many offsets: None or a rule set, never a
        // panic; truncations always None (the rule count promises more).
        for cut in (0..good.len()).step_by(97) {
            assert!(decode(&good[..cut]).is_none(), "cut at {cut}");
        }
        // (Each damaged copy is leaked: a few megabytes for the test run.)
        for at in (MAGIC.len()..good.len()).step_by(193) {
            let mut bad = good.to_vec();
            bad[at] ^= 0xff;
            let _ = decode(leak(bad));
        }
        let mut trailing = good.to_vec();
        trailing.push(0);
        assert!(decode(leak(trailing)).is_none());
    }

    #[test]
    fn strings_and_fields_are_stored_once() {
        let bytes = encode(&compiled_from_sources());
        let count = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
        // Named by hundreds of checks and outputs, written once each.
        assert_eq!(count(b"ka.target.resource"), 1);
        assert_eq!(count(b"ka.user.name"), 1);
        // Decoded rule text borrows from the snapshot instead of copying it.
        let set = decode(crate::pack::BUILTIN_SNAPSHOT).unwrap();
        assert!(
            set.rules()
                .iter()
                .all(|r| matches!((&r.id, &r.desc), (Text::Borrowed(_), Text::Borrowed(_))))
        );
        // And its checks share one resolved field per distinct field.
        fn checks<'n>(node: &'n Node, out: &mut Vec<&'n Check>) {
            match node {
                Node::Const(_) => {}
                Node::And(items) | Node::Or(items) => items.iter().for_each(|n| checks(n, out)),
                Node::Not(inner) => checks(inner, out),
                Node::Shared(inner) => checks(inner, out),
                Node::Check(c) => out.push(c),
            }
        }
        let mut all = Vec::new();
        for c in &set.compiled {
            checks(&c.node, &mut all);
        }
        let distinct: std::collections::HashSet<*const Field> =
            all.iter().map(|c| Arc::as_ptr(&c.field)).collect();
        let verbs: Vec<_> = all
            .iter()
            .filter(|c| c.field.plain_path() == Some(&["verb"][..]))
            .collect();
        assert!(verbs.len() > 10, "{} checks of ka.verb", verbs.len());
        assert!(verbs.iter().all(|c| Arc::ptr_eq(&c.field, &verbs[0].field)));
        assert!(
            distinct.len() < 100 && all.len() > 400,
            "{} {}",
            distinct.len(),
            all.len()
        );
    }
}
