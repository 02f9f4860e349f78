//! Rules files → definitions → compiled rules.
//!
//! Pass 1 reads every source's YAML items in order and applies them to one collection of
//! lists, macros and rules, exactly as Falco amends across files (`append`, `override`,
//! `enabled`-only items, redefinition). Pass 2 parses and checks every macro and rule
//! condition, expands macros and lists, adds rule exceptions, and compiles outputs. Every
//! problem of every file is collected; nothing stops at the first.
//!
//! serde_yaml gives no positions for values, so [`SourceMap`] finds each item's line by
//! scanning the text for the top-level `- ` entries, and maps offsets inside a condition back
//! to line and column (single-line, block `|`/`>` and multi-line plain scalars; approximate
//! where YAML folding or escapes change lengths).

use super::ast::Op;
use super::compile::{self, Check, Env, MacroEntry, NameMap, NameSet, Node, Ptr};
use super::error::RuleDiagnostic;
use super::output::{self, Output};
use super::parser;
use super::{RuleInfo, RuleSource, Text};
use crate::severity::Severity;
use serde_yaml::{Mapping, Value as Y};

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub node: Node,
    pub output: Output,
}

pub struct Loaded {
    pub infos: Vec<RuleInfo>,
    pub compiled: Vec<Compiled>,
    pub warnings: Vec<String>,
}

/// Loads and compiles `sources` in order; `Err` holds every problem found.
/// `prepared[i]`, when present and not empty, is `sources[i]` already converted to JSON.
pub fn load(sources: &[RuleSource], prepared: &[&str]) -> Result<Loaded, Vec<RuleDiagnostic>> {
    let mut st = State::default();
    for (fi, src) in sources.iter().enumerate() {
        st.load_source(fi, src, prepared.get(fi).copied().unwrap_or(""));
    }
    let (loaded, mut errors) = st.finish();
    if errors.is_empty() {
        Ok(loaded)
    } else {
        errors.sort_by_key(|d| (d.0, d.1.line, d.1.column));
        Err(errors.into_iter().map(|d| d.1).collect())
    }
}

// ---------------------------------------------------------------------------------------
// Positions

#[derive(Debug, Clone)]
struct Seg {
    text_start: usize,
    line: usize,
    col: usize,
}

/// Maps byte offsets in a YAML scalar's value to 1-based line and column in its file.
#[derive(Debug, Clone)]
struct TextMap {
    file: usize,
    item_line: usize,
    segs: Vec<Seg>,
}

impl TextMap {
    fn at_item(file: usize, item_line: usize) -> TextMap {
        TextMap {
            file,
            item_line,
            segs: vec![],
        }
    }

    fn locate(&self, off: usize) -> (usize, usize) {
        match self.segs.iter().rev().find(|s| s.text_start <= off) {
            Some(s) => (s.line, s.col + (off - s.text_start)),
            None => (self.item_line, 1),
        }
    }
}

struct SourceMap<'a> {
    lines: Vec<&'a str>,
    /// 0-based line of each top-level item, if the scan agrees with the YAML.
    items: Vec<usize>,
}

fn indent(s: &str) -> usize {
    s.len() - s.trim_start_matches(' ').len()
}

impl<'a> SourceMap<'a> {
    fn new(text: &'a str) -> SourceMap<'a> {
        let lines: Vec<&str> = text.lines().collect();
        let dash_indent = lines.iter().find_map(|l| {
            let t = l.trim_start();
            (t.starts_with("- ") || t == "-").then(|| indent(l))
        });
        let items = match dash_indent {
            None => vec![],
            Some(di) => lines
                .iter()
                .enumerate()
                .filter(|(_, l)| {
                    indent(l) == di && {
                        let t = &l[di..];
                        t.starts_with("- ") || t == "-"
                    }
                })
                .map(|(i, _)| i)
                .collect(),
        };
        SourceMap { lines, items }
    }

    /// 1-based line of item `idx`.
    fn item_line(&self, idx: usize) -> usize {
        self.items.get(idx).map_or(1, |l| l + 1)
    }

    /// 0-based line range of item `idx`.
    fn range(&self, idx: usize) -> Option<(usize, usize)> {
        let start = *self.items.get(idx)?;
        let end = self.items.get(idx + 1).copied().unwrap_or(self.lines.len());
        Some((start, end))
    }

    fn key_indent(&self, idx: usize) -> Option<usize> {
        let (start, end) = self.range(idx)?;
        let l = self.lines[start];
        let di = indent(l);
        let after = &l[di + 1..];
        if !after.trim().is_empty() {
            return Some(di + 1 + indent(after));
        }
        (start + 1..end)
            .map(|i| self.lines[i])
            .find(|l| !l.trim().is_empty())
            .map(indent)
    }

    /// 0-based (line, column) of `key:` among item `idx`'s own keys.
    fn key_pos(&self, idx: usize, key: &str) -> Option<(usize, usize)> {
        let (start, end) = self.range(idx)?;
        let ki = self.key_indent(idx)?;
        for ln in start..end {
            let l = self.lines[ln];
            if l.len() < ki || (ln != start && !l[..ki].trim().is_empty()) {
                continue;
            }
            let Some(rest) = l.get(ki..) else { continue };
            let rest = rest.strip_prefix('"').unwrap_or(rest);
            if let Some(after) = rest.strip_prefix(key) {
                let after = after.strip_prefix('"').unwrap_or(after);
                if after.trim_start().starts_with(':') {
                    return Some((ln, ki));
                }
            }
        }
        None
    }

    /// 1-based (line, column) of `key:` in item `idx`, else the item's line.
    fn key_loc(&self, idx: usize, key: &str) -> (usize, usize) {
        match self.key_pos(idx, key) {
            Some((l, c)) => (l + 1, c + 1),
            None => (self.item_line(idx), 1),
        }
    }

    /// The map of the scalar value of `key` in item `idx`.
    fn value_map(&self, file: usize, idx: usize, key: &str) -> TextMap {
        let mut map = TextMap::at_item(file, self.item_line(idx));
        let (Some((ln, kc)), Some((_, end)), Some(ki)) = (
            self.key_pos(idx, key),
            self.range(idx),
            self.key_indent(idx),
        ) else {
            return map;
        };
        let line = self.lines[ln];
        let colon = line[kc..].find(':').map_or(line.len(), |c| kc + c + 1);
        let rest = &line[colon..];
        let vcol = colon + (rest.len() - rest.trim_start().len());
        let v = rest.trim_start();
        let mut off = 0;
        if v.starts_with('|') || v.starts_with('>') {
            let mut block_indent = None;
            for (n, l) in self.lines.iter().enumerate().take(end).skip(ln + 1) {
                if l.trim().is_empty() {
                    off += 1;
                    continue;
                }
                let ind = indent(l);
                if ind <= ki {
                    break;
                }
                let bi = *block_indent.get_or_insert(ind);
                map.segs.push(Seg {
                    text_start: off,
                    line: n + 1,
                    col: bi.min(ind) + 1,
                });
                off += l.len().saturating_sub(bi) + 1;
            }
        } else {
            let c0 = vcol + usize::from(v.starts_with('"') || v.starts_with('\''));
            map.segs.push(Seg {
                text_start: 0,
                line: ln + 1,
                col: c0 + 1,
            });
            off = line.len().saturating_sub(c0) + 1;
            for (n, l) in self.lines.iter().enumerate().take(end).skip(ln + 1) {
                if l.trim().is_empty() {
                    off += 1;
                    continue;
                }
                let ind = indent(l);
                if ind <= ki {
                    break;
                }
                map.segs.push(Seg {
                    text_start: off,
                    line: n + 1,
                    col: ind + 1,
                });
                off += l.trim().len() + 1;
            }
        }
        map
    }
}

// ---------------------------------------------------------------------------------------
// Definitions

/// A condition built from pieces: a definition plus `append`s, joined by a space as Falco
/// does, each piece keeping its own position map.
#[derive(Debug, Clone, Default)]
struct Cond {
    pieces: Vec<(String, TextMap)>,
}

impl Cond {
    fn new(text: String, map: TextMap) -> Cond {
        Cond {
            pieces: vec![(text, map)],
        }
    }

    fn text(&self) -> String {
        let parts: Vec<&str> = self.pieces.iter().map(|p| p.0.as_str()).collect();
        parts.join(" ")
    }

    /// (file index, line, column) of byte `off` of [`Cond::text`].
    fn locate(&self, off: usize) -> (usize, usize, usize) {
        let mut start = 0;
        for (i, (text, map)) in self.pieces.iter().enumerate() {
            let end = start + text.len();
            if off <= end || i + 1 == self.pieces.len() {
                let (l, c) = map.locate(off.saturating_sub(start).min(text.len()));
                return (map.file, l, c);
            }
            start = end + 1;
        }
        (0, 1, 1)
    }
}

#[derive(Debug, Clone)]
struct MacroDef {
    cond: Cond,
    file: usize,
    line: usize,
}

#[derive(Debug, Clone)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone)]
struct ExceptionDef {
    name: String,
    fields: Option<OneOrMany>,
    comps: Option<OneOrMany>,
    values: Vec<Y>,
}

#[derive(Debug, Clone)]
struct RuleDef {
    name: String,
    id: Option<String>,
    cond: Cond,
    output: String,
    output_map: TextMap,
    desc: String,
    priority: String,
    severity: Severity,
    tags: Vec<String>,
    enabled: bool,
    file: usize,
    line: usize,
    exceptions: Vec<ExceptionDef>,
}

type Diag = (usize, RuleDiagnostic);

#[derive(Default)]
struct State {
    files: Vec<String>,
    errors: Vec<Diag>,
    warnings: Vec<String>,
    lists: NameMap<Vec<String>>,
    macros: NameMap<MacroDef>,
    macro_order: Vec<String>,
    rules: Vec<RuleDef>,
    rule_index: NameMap<usize>,
    skipped: NameSet,
}

/// What one item looks like, for diagnostics.
struct ItemCtx<'a> {
    file: usize,
    idx: usize,
    map: &'a SourceMap<'a>,
    label: String,
}

impl ItemCtx<'_> {
    fn line(&self) -> usize {
        self.map.item_line(self.idx)
    }
}

fn scalar(v: &Y) -> Option<String> {
    match v {
        Y::String(s) => Some(s.clone()),
        Y::Number(n) => Some(n.to_string()),
        Y::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn derive_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_matches('-').to_string()
}

const RULE_KEYS: &[&str] = &[
    "rule",
    "id",
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "enabled",
    "source",
    "exceptions",
    "append",
    "override",
];
const RULE_IGNORED_KEYS: &[&str] = &[
    "warn_evttypes",
    "skip-if-unknown-filter",
    "capture",
    "capture_duration",
    "required_engine_version",
];
const APPENDABLE: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
const REPLACEABLE: &[&str] = &[
    "condition",
    "output",
    "desc",
    "priority",
    "tags",
    "exceptions",
    "enabled",
    "id",
];

impl State {
    fn err(&mut self, file: usize, line: usize, column: usize, item: Option<&str>, msg: String) {
        self.errors.push((
            file,
            RuleDiagnostic {
                file: self.files[file].clone(),
                line,
                column,
                item: item.map(str::to_string),
                message: msg,
            },
        ));
    }

    fn ierr(&mut self, it: &ItemCtx<'_>, key: Option<&str>, msg: String) {
        let (l, c) = match key {
            Some(k) => it.map.key_loc(it.idx, k),
            None => (it.line(), 1),
        };
        self.err(it.file, l, c, Some(&it.label.clone()), msg);
    }

    fn warn(&mut self, it: &ItemCtx<'_>, msg: String) {
        let w = format!(
            "{}:{}: {}: {}",
            self.files[it.file],
            it.line(),
            it.label,
            msg
        );
        self.warnings.push(w);
    }

    fn load_source(&mut self, fi: usize, src: &RuleSource, json: &str) {
        self.files.push(src.name.clone());
        // The same document either way (a test checks the built-in pack's equality); YAML
        // parsing is most of the built-in pack's load time.
        let parsed = match serde_json::from_str::<Y>(json) {
            Ok(doc) if !json.is_empty() => Ok(doc),
            _ => serde_yaml::from_str(&src.text),
        };
        let doc: Y = match parsed {
            Ok(d) => d,
            Err(e) => {
                let (l, c) = e.location().map_or((1, 1), |p| (p.line(), p.column()));
                self.err(fi, l, c, None, format!("invalid YAML: {e}"));
                return;
            }
        };
        let items = match doc {
            Y::Null => return,
            Y::Sequence(items) => items,
            _ => {
                self.err(
                    fi,
                    1,
                    1,
                    None,
                    "a rules file must be a YAML list of items".into(),
                );
                return;
            }
        };
        let map = SourceMap::new(&src.text);
        for (idx, item) in items.iter().enumerate() {
            self.load_item(fi, &map, idx, item);
        }
    }

    fn load_item(&mut self, file: usize, map: &SourceMap<'_>, idx: usize, item: &Y) {
        let mut it = ItemCtx {
            file,
            idx,
            map,
            label: format!("item {}", idx + 1),
        };
        let Some(m) = item.as_mapping() else {
            self.ierr(
                &it,
                None,
                "an item must be a mapping with 'rule', 'macro' or 'list'".into(),
            );
            return;
        };
        let kind = ["rule", "macro", "list"]
            .into_iter()
            .find(|k| m.contains_key(*k));
        let Some(kind) = kind else {
            if !(m.contains_key("required_engine_version")
                || m.contains_key("required_plugin_versions"))
            {
                self.warn(
                    &it,
                    "unknown item (not a rule, macro or list), ignored".into(),
                );
            }
            return;
        };
        let Some(name) = m.get(kind).and_then(scalar) else {
            self.ierr(
                &it,
                Some(kind),
                format!("the '{kind}' key must be a string name"),
            );
            return;
        };
        it.label = format!("{kind} '{name}'");
        if let Some(source) = m.get("source") {
            let s = scalar(source).unwrap_or_default();
            if s != "k8s_audit" {
                self.warn(&it, format!("source '{s}' is not k8s_audit; skipped"));
                self.skipped.insert(format!("{kind}:{name}"));
                return;
            }
        }
        if self.skipped.contains(&format!("{kind}:{name}")) {
            self.warn(
                &it,
                format!("amends a {kind} that was skipped for its source; skipped"),
            );
            return;
        }
        let append = match m.get("append") {
            None => false,
            Some(Y::Bool(b)) => *b,
            Some(_) => {
                self.ierr(&it, Some("append"), "'append' must be true or false".into());
                return;
            }
        };
        let ovr = match m.get("override") {
            None => None,
            Some(Y::Mapping(o)) => Some(o),
            Some(_) => {
                self.ierr(
                    &it,
                    Some("override"),
                    "'override' must be a mapping of key: append|replace".into(),
                );
                return;
            }
        };
        if append && ovr.is_some() {
            self.ierr(
                &it,
                Some("override"),
                "'append' and 'override' cannot be used together".into(),
            );
            return;
        }
        let overrides = match ovr.map(|o| self.parse_override(&it, m, o)) {
            None => None,
            Some(Some(o)) => Some(o),
            Some(None) => return,
        };
        match kind {
            "list" => self.list_item(&it, &name, m, append, overrides),
            "macro" => self.macro_item(&it, &name, m, append, overrides),
            _ => self.rule_item(&it, &name, m, append, overrides),
        }
    }

    /// `override: {key: append|replace}` → pairs, checked against the item's keys.
    fn parse_override(
        &mut self,
        it: &ItemCtx<'_>,
        m: &Mapping,
        o: &Mapping,
    ) -> Option<Vec<(String, bool)>> {
        let mut out = Vec::new();
        let mut ok = true;
        for (k, v) in o {
            let (Some(k), Some(v)) = (scalar(k), scalar(v)) else {
                self.ierr(
                    it,
                    Some("override"),
                    "'override' entries must be 'key: append|replace'".into(),
                );
                return None;
            };
            let append = match v.as_str() {
                "append" => true,
                "replace" => false,
                other => {
                    self.ierr(
                        it,
                        Some("override"),
                        format!("override mode for '{k}' must be append or replace, not '{other}'"),
                    );
                    ok = false;
                    continue;
                }
            };
            if !m.contains_key(k.as_str()) {
                self.ierr(
                    it,
                    Some("override"),
                    format!("'override' names '{k}' but the item has no '{k}' key"),
                );
                ok = false;
            }
            out.push((k, append));
        }
        for k in m.keys().filter_map(scalar) {
            let structural =
                ["rule", "macro", "list", "override", "source", "append"].contains(&k.as_str());
            if !structural && !out.iter().any(|(o, _)| *o == k) {
                self.ierr(
                    it,
                    Some(&k),
                    format!("key '{k}' must be listed in 'override' (append or replace)"),
                );
                ok = false;
            }
        }
        ok.then_some(out)
    }

    fn list_items(&mut self, it: &ItemCtx<'_>, m: &Mapping) -> Option<Vec<String>> {
        match m.get("items") {
            Some(Y::Sequence(seq)) => {
                let mut out = Vec::new();
                for v in seq {
                    match scalar(v) {
                        Some(s) => out.push(s),
                        None => {
                            self.ierr(
                                it,
                                Some("items"),
                                "list items must be strings, numbers or booleans".into(),
                            );
                            return None;
                        }
                    }
                }
                Some(out)
            }
            Some(Y::Null) => Some(vec![]),
            Some(_) => {
                self.ierr(it, Some("items"), "'items' must be a list".into());
                None
            }
            None => {
                self.ierr(it, None, "a list needs 'items'".into());
                None
            }
        }
    }

    fn list_item(
        &mut self,
        it: &ItemCtx<'_>,
        name: &str,
        m: &Mapping,
        append: bool,
        ovr: Option<Vec<(String, bool)>>,
    ) {
        let Some(items) = self.list_items(it, m) else {
            return;
        };
        let append = append || ovr.iter().flatten().any(|(k, a)| k == "items" && *a);
        let amend = append || ovr.is_some();
        if amend && !self.lists.contains_key(name) {
            self.ierr(
                it,
                None,
                format!("amends list '{name}' but no list by that name is defined before it"),
            );
            return;
        }
        if append {
            self.lists
                .entry(name.to_string())
                .or_default()
                .extend(items);
        } else {
            self.lists.insert(name.to_string(), items);
        }
    }

    fn string_key(&mut self, it: &ItemCtx<'_>, m: &Mapping, key: &str) -> Option<String> {
        match m.get(key) {
            None => None,
            Some(v) => match scalar(v) {
                Some(s) => Some(s),
                None => {
                    self.ierr(it, Some(key), format!("'{key}' must be a string"));
                    None
                }
            },
        }
    }

    fn macro_item(
        &mut self,
        it: &ItemCtx<'_>,
        name: &str,
        m: &Mapping,
        append: bool,
        ovr: Option<Vec<(String, bool)>>,
    ) {
        let Some(cond) = self.string_key(it, m, "condition") else {
            if !m.contains_key("condition") {
                self.ierr(it, None, "a macro needs 'condition'".into());
            }
            return;
        };
        let piece = (cond, it.map.value_map(it.file, it.idx, "condition"));
        let append = append || ovr.iter().flatten().any(|(k, a)| k == "condition" && *a);
        let amend = append || ovr.is_some();
        match self.macros.get_mut(name) {
            Some(def) if append => def.cond.pieces.push(piece),
            Some(def) if amend => def.cond = Cond::new(piece.0, piece.1),
            None if amend => {
                self.ierr(
                    it,
                    None,
                    format!("amends macro '{name}' but no macro by that name is defined before it"),
                );
            }
            _ => {
                if !self.macros.contains_key(name) {
                    self.macro_order.push(name.to_string());
                }
                self.macros.insert(
                    name.to_string(),
                    MacroDef {
                        cond: Cond::new(piece.0, piece.1),
                        file: it.file,
                        line: it.line(),
                    },
                );
            }
        }
    }

    fn exceptions(&mut self, it: &ItemCtx<'_>, m: &Mapping) -> Option<Vec<ExceptionDef>> {
        let seq = match m.get("exceptions") {
            None | Some(Y::Null) => return Some(vec![]),
            Some(Y::Sequence(s)) => s,
            Some(_) => {
                self.ierr(it, Some("exceptions"), "'exceptions' must be a list".into());
                return None;
            }
        };
        let mut out = Vec::new();
        for e in seq {
            let Some(em) = e.as_mapping() else {
                self.ierr(
                    it,
                    Some("exceptions"),
                    "each exception must be a mapping with 'name'".into(),
                );
                return None;
            };
            let Some(name) = em.get("name").and_then(scalar) else {
                self.ierr(it, Some("exceptions"), "an exception needs a 'name'".into());
                return None;
            };
            let one_or_many = |v: Option<&Y>| -> Result<Option<OneOrMany>, ()> {
                match v {
                    None => Ok(None),
                    Some(Y::Sequence(s)) => s
                        .iter()
                        .map(scalar)
                        .collect::<Option<Vec<_>>>()
                        .map(|v| Some(OneOrMany::Many(v)))
                        .ok_or(()),
                    Some(v) => scalar(v).map(|s| Some(OneOrMany::One(s))).ok_or(()),
                }
            };
            let (Ok(fields), Ok(comps)) =
                (one_or_many(em.get("fields")), one_or_many(em.get("comps")))
            else {
                self.ierr(it, Some("exceptions"), format!("exception '{name}': 'fields' and 'comps' must be strings or lists of strings"));
                return None;
            };
            let values = match em.get("values") {
                None | Some(Y::Null) => vec![],
                Some(Y::Sequence(s)) => s.clone(),
                Some(_) => {
                    self.ierr(
                        it,
                        Some("exceptions"),
                        format!("exception '{name}': 'values' must be a list"),
                    );
                    return None;
                }
            };
            out.push(ExceptionDef {
                name,
                fields,
                comps,
                values,
            });
        }
        Some(out)
    }

    fn tags(&mut self, it: &ItemCtx<'_>, m: &Mapping) -> Option<Vec<String>> {
        match m.get("tags") {
            None | Some(Y::Null) => Some(vec![]),
            Some(Y::Sequence(s)) => match s.iter().map(scalar).collect::<Option<Vec<_>>>() {
                Some(t) => Some(t),
                None => {
                    self.ierr(it, Some("tags"), "'tags' must be a list of strings".into());
                    None
                }
            },
            Some(_) => {
                self.ierr(it, Some("tags"), "'tags' must be a list of strings".into());
                None
            }
        }
    }

    fn enabled(&mut self, it: &ItemCtx<'_>, m: &Mapping) -> Option<Option<bool>> {
        match m.get("enabled") {
            None => Some(None),
            Some(Y::Bool(b)) => Some(Some(*b)),
            Some(_) => {
                self.ierr(
                    it,
                    Some("enabled"),
                    "'enabled' must be true or false".into(),
                );
                None
            }
        }
    }

    fn severity(&mut self, it: &ItemCtx<'_>, p: &str) -> Option<Severity> {
        let s = Severity::parse(p.trim());
        if s.is_none() {
            self.ierr(it, Some("priority"), format!(
                "unknown priority '{p}' (use info, low, medium, high, critical, or a Falco priority such as WARNING)"
            ));
        }
        s
    }

    fn rule_item(
        &mut self,
        it: &ItemCtx<'_>,
        name: &str,
        m: &Mapping,
        append: bool,
        ovr: Option<Vec<(String, bool)>>,
    ) {
        for k in m.keys().filter_map(scalar) {
            if !RULE_KEYS.contains(&k.as_str()) && !RULE_IGNORED_KEYS.contains(&k.as_str()) {
                self.warn(it, format!("unknown key '{k}' ignored"));
            }
        }
        let existing = self.rule_index.get(name).copied();
        if let Some(ovr) = ovr {
            let Some(ri) = existing else {
                self.ierr(
                    it,
                    None,
                    format!(
                        "overrides rule '{name}' but no rule by that name is defined before it"
                    ),
                );
                return;
            };
            for (key, is_append) in ovr {
                let allowed = if is_append { APPENDABLE } else { REPLACEABLE };
                if !allowed.contains(&key.as_str()) {
                    let mode = if is_append { "appended" } else { "replaced" };
                    self.ierr(it, Some("override"), format!("'{key}' cannot be {mode}"));
                    continue;
                }
                self.amend_rule(it, ri, m, &key, is_append);
            }
            return;
        }
        if append {
            let Some(ri) = existing else {
                self.ierr(
                    it,
                    None,
                    format!(
                        "appends to rule '{name}' but no rule by that name is defined before it"
                    ),
                );
                return;
            };
            for key in m.keys().filter_map(scalar) {
                match key.as_str() {
                    "rule" | "append" | "source" => {}
                    k if APPENDABLE.contains(&k) => self.amend_rule(it, ri, m, k, true),
                    "enabled" => self.amend_rule(it, ri, m, "enabled", false),
                    k if RULE_KEYS.contains(&k) => {
                        self.ierr(it, Some(k), format!("'{k}' cannot be appended"));
                    }
                    _ => {}
                }
            }
            return;
        }
        let defining = ["condition", "output", "desc", "priority"]
            .iter()
            .any(|k| m.contains_key(*k));
        if !defining {
            // `- rule: X` + `enabled: false`: switch an existing rule on or off.
            match (existing, m.contains_key("enabled")) {
                (Some(ri), true) => self.amend_rule(it, ri, m, "enabled", false),
                (None, true) => self.ierr(it, None, format!(
                    "sets 'enabled' on rule '{name}', but no rule by that name is defined before it"
                )),
                _ => self.ierr(it, None, "a rule needs 'condition', 'output', 'desc' and 'priority'".into()),
            }
            return;
        }
        let mut missing = false;
        for k in ["condition", "output", "desc", "priority"] {
            if !m.contains_key(k) {
                self.ierr(it, None, format!("a rule needs '{k}'"));
                missing = true;
            }
        }
        let cond = self.string_key(it, m, "condition");
        let output = self.string_key(it, m, "output");
        let desc = self.string_key(it, m, "desc");
        let priority = self.string_key(it, m, "priority");
        let id = self.string_key(it, m, "id");
        let tags = self.tags(it, m);
        let enabled = self.enabled(it, m);
        let exceptions = self.exceptions(it, m);
        if missing {
            return;
        }
        let (
            Some(cond),
            Some(output),
            Some(desc),
            Some(priority),
            Some(tags),
            Some(enabled),
            Some(exceptions),
        ) = (cond, output, desc, priority, tags, enabled, exceptions)
        else {
            return;
        };
        let Some(severity) = self.severity(it, &priority) else {
            return;
        };
        if id.as_deref().is_some_and(|i| i.trim().is_empty()) {
            self.ierr(it, Some("id"), "'id' must not be empty".into());
            return;
        }
        let def = RuleDef {
            name: name.to_string(),
            id,
            cond: Cond::new(cond, it.map.value_map(it.file, it.idx, "condition")),
            output_map: it.map.value_map(it.file, it.idx, "output"),
            output,
            desc: output::collapse(&desc),
            priority,
            severity,
            tags,
            enabled: enabled.unwrap_or(true),
            file: it.file,
            line: it.line(),
            exceptions,
        };
        match existing {
            Some(ri) => {
                self.warn(
                    it,
                    format!(
                        "redefines rule '{name}' (defined earlier); the new definition replaces it"
                    ),
                );
                self.rules[ri] = def;
            }
            None => {
                self.rule_index.insert(name.to_string(), self.rules.len());
                self.rules.push(def);
            }
        }
    }

    fn amend_rule(&mut self, it: &ItemCtx<'_>, ri: usize, m: &Mapping, key: &str, append: bool) {
        match key {
            "condition" => {
                let Some(c) = self.string_key(it, m, key) else {
                    return;
                };
                let piece = (c, it.map.value_map(it.file, it.idx, key));
                let rule = &mut self.rules[ri];
                if append {
                    rule.cond.pieces.push(piece);
                } else {
                    rule.cond = Cond::new(piece.0, piece.1);
                }
            }
            "output" | "desc" => {
                let Some(v) = self.string_key(it, m, key) else {
                    return;
                };
                let map = it.map.value_map(it.file, it.idx, key);
                let rule = &mut self.rules[ri];
                let target = if key == "output" {
                    &mut rule.output
                } else {
                    &mut rule.desc
                };
                if append {
                    target.push(' ');
                    target.push_str(&v);
                } else {
                    *target = v;
                    if key == "output" {
                        rule.output_map = map;
                    }
                }
                if key == "desc" {
                    rule.desc = output::collapse(&rule.desc);
                }
            }
            "priority" => {
                let Some(p) = self.string_key(it, m, key) else {
                    return;
                };
                let Some(sev) = self.severity(it, &p) else {
                    return;
                };
                let rule = &mut self.rules[ri];
                rule.priority = p;
                rule.severity = sev;
            }
            "tags" => {
                let Some(t) = self.tags(it, m) else { return };
                let rule = &mut self.rules[ri];
                if append {
                    for tag in t {
                        if !rule.tags.contains(&tag) {
                            rule.tags.push(tag);
                        }
                    }
                } else {
                    rule.tags = t;
                }
            }
            "enabled" => {
                if let Some(Some(e)) = self.enabled(it, m) {
                    self.rules[ri].enabled = e;
                }
            }
            "id" => {
                if let Some(id) = self.string_key(it, m, key) {
                    self.rules[ri].id = Some(id);
                }
            }
            "exceptions" => {
                let Some(exs) = self.exceptions(it, m) else {
                    return;
                };
                let rule = &mut self.rules[ri];
                if !append {
                    rule.exceptions = exs;
                    return;
                }
                for ex in exs {
                    match rule.exceptions.iter_mut().find(|e| e.name == ex.name) {
                        Some(e) => e.values.extend(ex.values),
                        None => rule.exceptions.push(ex),
                    }
                }
            }
            _ => {}
        }
    }

    // -----------------------------------------------------------------------------------
    // Pass 2

    fn finish(mut self) -> (Loaded, Vec<Diag>) {
        // Macros: parse and check each, then break cycles.
        let mut entries: NameMap<MacroEntry> = NameMap::default();
        let order = self.macro_order.clone();
        for name in &order {
            let def = self.macros[name].clone();
            let text = def.cond.text();
            let label = format!("macro '{name}'");
            let ast = match parser::parse(&text) {
                Ok(a) => Some(a),
                Err(e) => {
                    let (f, l, c) = def.cond.locate(e.span.start);
                    self.err(f, l, c, Some(&label), e.message);
                    None
                }
            };
            entries.insert(name.clone(), MacroEntry::new(ast));
        }
        let mut bad = NameSet::default();
        {
            let env = Env {
                macros: &entries,
                lists: &self.lists,
            };
            let mut found = Vec::new();
            for name in &order {
                let Some(ast) = entries[name].ast.as_ref() else {
                    continue;
                };
                let mut errs = Vec::new();
                compile::check_local(ast, &env, &mut errs);
                if !errs.is_empty() {
                    bad.insert(name.clone());
                }
                for (span, msg) in errs {
                    found.push((name.clone(), span.start, msg));
                }
                if let Some(cycle) = find_cycle(name, &entries) {
                    bad.insert(name.clone());
                    found.push((
                        name.clone(),
                        usize::MAX,
                        format!("macro cycle: {}", cycle.join(" -> ")),
                    ));
                }
            }
            for (name, off, msg) in found {
                let def = &self.macros[&name];
                let (f, l, c) = if off == usize::MAX {
                    (def.file, def.line, 1)
                } else {
                    def.cond.locate(off)
                };
                self.err(f, l, c, Some(&format!("macro '{name}'")), msg);
            }
        }
        for name in bad {
            if let Some(e) = entries.get_mut(&name) {
                e.ast = None;
            }
        }

        // Rules.
        let mut infos = Vec::new();
        let mut compiled = Vec::new();
        let mut ids: NameMap<String> = NameMap::default();
        let rules = std::mem::take(&mut self.rules);
        for r in &rules {
            let label = format!("rule '{}'", r.name);
            let id = r.id.clone().unwrap_or_else(|| derive_id(&r.name));
            if let Some(other) = ids.get(&id) {
                self.err(
                    r.file,
                    r.line,
                    1,
                    Some(&label),
                    format!("duplicate id '{id}' (also used by rule '{other}')"),
                );
            } else {
                ids.insert(id.clone(), r.name.clone());
            }
            let node = self.compile_rule(r, &label, &entries);
            let out_text = output::collapse(&r.output);
            let out = match Output::parse(&out_text) {
                Ok(o) => Some(o),
                Err(errs) => {
                    for e in errs {
                        let (l, c) = r.output_map.locate(e.offset);
                        self.err(r.output_map.file, l, c, Some(&label), e.message);
                    }
                    None
                }
            };
            if let (Some(node), Some(output)) = (node, out) {
                compiled.push(Compiled { node, output });
            }
            infos.push(RuleInfo {
                id: id.into(),
                name: r.name.clone().into(),
                severity: r.severity,
                priority: r.priority.clone().into(),
                tags: r.tags.iter().cloned().map(Text::from).collect(),
                desc: r.desc.clone().into(),
                source: self.files[r.file].clone().into(),
                enabled: r.enabled,
            });
        }
        let errors = std::mem::take(&mut self.errors);
        (
            Loaded {
                infos,
                compiled,
                warnings: self.warnings,
            },
            errors,
        )
    }

    fn compile_rule(
        &mut self,
        r: &RuleDef,
        label: &str,
        entries: &NameMap<MacroEntry>,
    ) -> Option<Node> {
        let text = r.cond.text();
        let ast = match parser::parse(&text) {
            Ok(a) => a,
            Err(e) => {
                let (f, l, c) = r.cond.locate(e.span.start);
                self.err(f, l, c, Some(label), e.message);
                return None;
            }
        };
        let env = Env {
            macros: entries,
            lists: &self.lists,
        };
        let mut errs = Vec::new();
        compile::check_local(&ast, &env, &mut errs);
        let mut failed = !errs.is_empty();
        for (span, msg) in errs {
            let (f, l, c) = r.cond.locate(span.start);
            self.err(f, l, c, Some(label), msg);
        }
        let mut exception_nodes = Vec::new();
        for ex in &r.exceptions {
            match exception_node(ex, &self.lists) {
                Ok(Some(n)) => exception_nodes.push(n),
                Ok(None) => {}
                Err(msg) => {
                    self.err(
                        r.file,
                        r.line,
                        1,
                        Some(label),
                        format!("exception '{}': {msg}", ex.name),
                    );
                    failed = true;
                }
            }
        }
        if failed {
            return None;
        }
        let env = Env {
            macros: entries,
            lists: &self.lists,
        };
        let Some(node) = compile::compile(&ast, &env, &mut Vec::new()) else {
            let mut refs = Vec::new();
            compile::macro_refs(&ast, &mut refs);
            self.err(
                r.file,
                r.line,
                1,
                Some(label),
                format!(
                    "the condition uses a macro that has errors (it names: {})",
                    refs.join(", ")
                ),
            );
            return None;
        };
        if exception_nodes.is_empty() {
            return Some(node);
        }
        Some(Node::And(
            vec![node, Node::Not(Ptr::new(Node::Or(exception_nodes.into())))].into(),
        ))
    }
}

fn find_cycle(start: &str, entries: &NameMap<MacroEntry>) -> Option<Vec<String>> {
    fn walk(
        cur: &str,
        start: &str,
        entries: &NameMap<MacroEntry>,
        path: &mut Vec<String>,
        seen: &mut NameSet,
    ) -> bool {
        let Some(ast) = entries.get(cur).and_then(|e| e.ast.as_ref()) else {
            return false;
        };
        let mut refs = Vec::new();
        compile::macro_refs(ast, &mut refs);
        for r in refs {
            if r == start {
                path.push(r.to_string());
                return true;
            }
            if seen.insert(r.to_string()) {
                path.push(r.to_string());
                if walk(r, start, entries, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    walk(start, start, entries, &mut path, &mut NameSet::default()).then_some(path)
}

/// A rule exception → `tuple or tuple …` (the rule becomes `cond and not (…)`); `None` when
/// it has no values yet.
fn exception_node(ex: &ExceptionDef, lists: &NameMap<Vec<String>>) -> Result<Option<Node>, String> {
    if ex.values.is_empty() {
        return Ok(None);
    }
    let resolve = |f: &str| {
        super::fields::Field::resolve(f, None).or_else(|e| {
            // `field[arg]` in exceptions
            match f.find('[') {
                Some(i) if f.ends_with(']') => {
                    super::fields::Field::resolve(&f[..i], Some(&f[i + 1..f.len() - 1]))
                }
                _ => Err(e),
            }
        })
    };
    let op_of =
        |c: &str| Op::from_text(c).ok_or_else(|| format!("unknown comparison operator '{c}'"));
    let values_for = |v: &Y, op: Op| -> Result<Vec<String>, String> {
        match v {
            Y::Sequence(items) if op.takes_list() => {
                let mut out = Vec::new();
                for i in items {
                    let s = scalar(i).ok_or("values must be strings")?;
                    if lists.contains_key(&s) {
                        compile::expand_list_into(&s, lists, &mut out, &mut Vec::new());
                    } else {
                        out.push(s);
                    }
                }
                Ok(out)
            }
            v => {
                let s = scalar(v)
                    .ok_or("values must be strings (or lists for in/intersects/pmatch)")?;
                if op.takes_list() && lists.contains_key(&s) {
                    let mut out = Vec::new();
                    compile::expand_list_into(&s, lists, &mut out, &mut Vec::new());
                    Ok(out)
                } else {
                    Ok(vec![s])
                }
            }
        }
    };
    match &ex.fields {
        None => Err("has no 'fields'".into()),
        Some(OneOrMany::One(f)) => {
            let field = resolve(f)?;
            let comp = match &ex.comps {
                None => "in".to_string(),
                Some(OneOrMany::One(c)) => c.clone(),
                Some(OneOrMany::Many(_)) => {
                    return Err(
                        "'comps' must be a single operator when 'fields' is one field".into(),
                    );
                }
            };
            let op = op_of(&comp)?;
            if op.takes_list() {
                let mut all = Vec::new();
                for v in &ex.values {
                    all.extend(values_for(v, op)?);
                }
                Ok(Check::from_values(field, op, all).map(|c| Node::Check(Ptr::new(c))))
            } else {
                let mut alts = Vec::new();
                for v in &ex.values {
                    let vals = values_for(v, op)?;
                    alts.extend(
                        Check::from_values(field.clone(), op, vals)
                            .map(|c| Node::Check(Ptr::new(c))),
                    );
                }
                Ok(Some(Node::Or(alts.into())))
            }
        }
        Some(OneOrMany::Many(fs)) => {
            let fields = fs
                .iter()
                .map(|f| resolve(f))
                .collect::<Result<Vec<_>, _>>()?;
            let comps: Vec<String> = match &ex.comps {
                None => vec!["=".to_string(); fs.len()],
                Some(OneOrMany::Many(c)) if c.len() == fs.len() => c.clone(),
                Some(_) => {
                    return Err(format!(
                        "'comps' must list one operator for each of the {} fields",
                        fs.len()
                    ));
                }
            };
            let ops = comps
                .iter()
                .map(|c| op_of(c))
                .collect::<Result<Vec<_>, _>>()?;
            let mut tuples = Vec::new();
            for v in &ex.values {
                let Y::Sequence(items) = v else {
                    return Err(format!(
                        "each value must be a list of {} items, one per field",
                        fs.len()
                    ));
                };
                if items.len() != fs.len() {
                    return Err(format!(
                        "each value must be a list of {} items, one per field",
                        fs.len()
                    ));
                }
                let mut checks = Vec::new();
                for ((field, op), item) in fields.iter().zip(&ops).zip(items) {
                    let vals = values_for(item, *op)?;
                    let c = Check::from_values(field.clone(), *op, vals).ok_or("empty value")?;
                    checks.push(Node::Check(Ptr::new(c)));
                }
                tuples.push(Node::And(checks.into()));
            }
            Ok(Some(Node::Or(tuples.into())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_derived_from_names() {
        assert_eq!(derive_id("Attach/Exec Pod"), "attach-exec-pod");
        assert_eq!(derive_id("  Foo (bar) "), "foo-bar");
    }

    #[test]
    fn item_lines_and_value_maps() {
        let text = "# c\n- list: a\n  items: [x]\n\n- rule: R\n  desc: d\n  condition: >\n    ka.verb=get\n    and foo\n  output: o\n- macro: m\n  condition: ka.verb = get\n";
        let map = SourceMap::new(text);
        assert_eq!(map.items, vec![1, 4, 10]);
        assert_eq!(map.key_loc(1, "condition"), (7, 3));
        let tm = map.value_map(0, 1, "condition");
        assert_eq!(tm.locate(0), (8, 5));
        assert_eq!(tm.locate(16), (9, 9));
        let tm = map.value_map(0, 2, "condition");
        assert_eq!(tm.locate(3), (12, 17));
    }
}
