//! AST → matcher. Macros are expanded and lists inlined away, fields resolved to extractors
//! and right-hand sides prepared (sets, numbers, hex bytes), so evaluation never re-parses.
//!
//! Semantics (see also `fields.rs`):
//! - A missing field makes every comparison false, `!=` and `exists` included.
//! - List fields (`ka.user.groups`, `ka.req.pod.containers.*`, …): an empty list is missing;
//!   `in (…)` holds when *every* value is in the set, `intersects (…)` when *any* is, `!=` when
//!   *no* value equals the operand, and every other operator when *any* value satisfies it.
//!   (Falco's libsinsp rejects operators other than `in`/`intersects`/`exists` on list
//!   fields; accepting them with "any" semantics is our extension.)
//! - `<`, `<=`, `>`, `>=` compare numerically when both sides are decimal numbers, otherwise
//!   as strings (byte order).
//! - `pmatch (p, …)`: the value is one of the paths or lies under one (`/etc` matches `/etc`
//!   and `/etc/kubernetes`, not `/etcd`).
//! - `glob`: `*` any run of characters (including `/`), `?` one character, `[…]` a class.
//! - `icontains`/`iglob`: ASCII case-insensitive. `bcontains`/`bstartswith`: hex operand.

use super::Text;
use super::ast::{Expr, Op, Rhs, Span, Value};
use super::fields::{Ctx, Field, SingleFieldMacros, Vals};
use std::borrow::Cow;
use std::sync::Arc;

/// Maps and sets keyed by strings of the rule files (macro, list and rule names, `in`
/// values): foldhash rather than SipHash, which was a tenth of loading the rule pack at
/// every cold start. The keys come from rule files the operator ships, not from events.
pub type NameMap<V> = std::collections::HashMap<String, V, foldhash::fast::RandomState>;
pub type NameSet = std::collections::HashSet<String, foldhash::fast::RandomState>;
/// A slice of compiled parts: borrowed from the built-in pack's static data (written by
/// `build.rs`, see [`super::codegen`]), or owned when compiled at run time.
pub type List<T> = Cow<'static, [T]>;
/// Operand values borrowed from compiled checks (what [`Node::required_values`] collects).
pub type ValueSet<'n> = std::collections::HashSet<&'n str, foldhash::fast::RandomState>;

/// A macro as the compiler sees it: its parsed condition, or `None` when it failed to parse
/// or check (its own errors were reported where it is defined).
pub struct MacroEntry {
    pub ast: Option<Expr>,
    /// The macro compiled, once, on first use: every rule that names it shares this node
    /// (the built-in pack names `eaw_kevt` and its lists in almost every rule).
    pub compiled: std::cell::OnceCell<Ptr<Node>>,
}

impl MacroEntry {
    pub fn new(ast: Option<Expr>) -> MacroEntry {
        MacroEntry {
            ast,
            compiled: std::cell::OnceCell::new(),
        }
    }
}

pub struct Env<'e> {
    pub macros: &'e NameMap<MacroEntry>,
    pub lists: &'e NameMap<Vec<String>>,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Node {
    Const(bool),
    And(List<Node>),
    Or(List<Node>),
    Not(Ptr<Node>),
    Check(Ptr<Check>),
    /// A macro's node, shared by the rules that use it.
    Shared(Ptr<Node>),
}

/// A compiled part held by pointer: into the built-in pack's static data, or on the heap
/// (shared) for rules compiled at run time. Macros' nodes and fields are pointed to from
/// many places either way.
pub enum Ptr<T: 'static> {
    Static(&'static T),
    Shared(Arc<T>),
}

impl<T> Ptr<T> {
    pub fn new(value: T) -> Ptr<T> {
        Ptr::Shared(Arc::new(value))
    }

    /// Where the part lies: what identifies a macro's node (and its results in a memo).
    pub fn addr(this: &Ptr<T>) -> usize {
        std::ptr::from_ref::<T>(this) as usize
    }
}

impl<T> std::ops::Deref for Ptr<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match self {
            Ptr::Static(part) => part,
            Ptr::Shared(part) => part,
        }
    }
}

impl<T> Clone for Ptr<T> {
    fn clone(&self) -> Ptr<T> {
        match self {
            Ptr::Static(part) => Ptr::Static(part),
            Ptr::Shared(part) => Ptr::Shared(Arc::clone(part)),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Ptr<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T> From<T> for Ptr<T> {
    fn from(value: T) -> Ptr<T> {
        Ptr::new(value)
    }
}

#[derive(Debug, Clone)]
pub struct Check {
    /// Behind a pointer, shared by every check and output on the same field in the built-in
    /// pack (each distinct field is written once): a check is 88 bytes instead of 184.
    /// Reading the field through the pointer costs nothing measurable per event.
    pub(super) field: Ptr<Field>,
    pub(super) op: Op,
    pub(super) rhs: CRhs,
}

#[derive(Debug, Clone)]
pub(super) enum CRhs {
    None,
    One {
        text: Text,
        num: Option<f64>,
        bytes: List<u8>,
    },
    /// `in`/`intersects` operands (foldhash: the rules probe these sets for every event).
    Set(TextSet),
    Paths(List<Text>),
}

/// An `in`/`intersects` operand set: the values, and a table of their positions by hash
/// (open addressing, linear probing, at most half full). Unlike a `HashSet`, both are plain
/// slices, so `build.rs` writes the built-in pack's sets out as static data and a cold start
/// builds none. The hash is this file's own ([`text_hash`]): the table is laid out on the
/// build machine and probed on another. Events' strings probe the table but never change
/// it, so no input makes a lookup cost more than the longest run of occupied slots.
#[derive(Clone)]
pub struct TextSet {
    /// The distinct values, in the order first given.
    pub(super) items: List<Text>,
    /// A power of two long: 0 for an empty slot, else 1 + the value's position in `items`.
    pub(super) slots: List<u32>,
}

impl TextSet {
    pub fn contains(&self, v: &str) -> bool {
        let mask = self.slots.len() - 1;
        let mut at = text_hash(v) as usize & mask;
        loop {
            match self.slots[at] {
                0 => return false,
                n if self.items[n as usize - 1] == v => return true,
                _ => at = (at + 1) & mask,
            }
        }
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Text> {
        self.items.iter()
    }
}

impl<T: Into<Text>> FromIterator<T> for TextSet {
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> TextSet {
        let values: Vec<Text> = values.into_iter().map(Into::into).collect();
        let mut slots = vec![0u32; (values.len() * 2).next_power_of_two().max(2)];
        let mask = slots.len() - 1;
        let mut items = Vec::with_capacity(values.len());
        for v in values {
            let mut at = text_hash(&v) as usize & mask;
            loop {
                match slots[at] {
                    0 => {
                        items.push(v);
                        slots[at] = u32::try_from(items.len()).expect("fewer than 2^32 values");
                        break;
                    }
                    n if items[n as usize - 1] == v => break,
                    _ => at = (at + 1) & mask,
                }
            }
        }
        TextSet {
            items: items.into(),
            slots: slots.into(),
        }
    }
}

impl std::fmt::Debug for TextSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.items.iter()).finish()
    }
}

/// A string's hash for [`TextSet`]: 8-byte words, each folded in with a 64×64→128-bit
/// multiply (as foldhash does), so short strings take a step or two; the same on every
/// platform, as the built-in pack's tables are laid out by `build.rs`.
pub(super) fn text_hash(s: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    fn fold(a: u64, b: u64) -> u64 {
        let product = u128::from(a) * u128::from(b);
        (product as u64) ^ ((product >> 64) as u64)
    }
    let bytes = s.as_bytes();
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        h = fold(h ^ u64::from_le_bytes(word.try_into().expect("8 bytes")), K);
    }
    let rest = words.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = fold(h ^ u64::from_le_bytes(word), K);
    }
    fold(h, K.rotate_left(32))
}

/// Errors local to one condition (fields, operators, operands, unknown macros), with the span
/// they point at. Macros are not expanded here: a macro's own problems belong to the macro.
pub fn check_local(expr: &Expr, env: &Env<'_>, errors: &mut Vec<(Span, String)>) {
    match expr {
        Expr::And(items, _) | Expr::Or(items, _) => {
            for e in items {
                check_local(e, env, errors);
            }
        }
        Expr::Not(inner, _) => check_local(inner, env, errors),
        Expr::Macro(name, span) => {
            if !env.macros.contains_key(name) {
                let hint = if env.lists.contains_key(name) {
                    format!(" ('{name}' is a list; use it as 'field in ({name})')")
                } else {
                    String::new()
                };
                errors.push((*span, format!("unknown macro '{name}'{hint}")));
            }
        }
        Expr::Check { field, op, rhs, .. } => {
            if let Err(e) = Field::resolve(&field.name, field.arg.as_deref()) {
                errors.push((field.span, e));
            }
            if let (Op::BContains | Op::BStartsWith, Rhs::Value(v)) = (op, rhs)
                && decode_hex(&v.text).is_none()
            {
                errors.push((
                    v.span,
                    format!("'{}' needs a hex operand, got '{}'", op.as_str(), v.text),
                ));
            }
        }
    }
}

/// The macros a condition names directly.
pub fn macro_refs<'a>(expr: &'a Expr, out: &mut Vec<&'a str>) {
    match expr {
        Expr::And(items, _) | Expr::Or(items, _) => {
            for e in items {
                macro_refs(e, out);
            }
        }
        Expr::Not(inner, _) => macro_refs(inner, out),
        Expr::Macro(name, _) => out.push(name),
        Expr::Check { .. } => {}
    }
}

/// Compiles a checked condition, expanding macros. `None` if it uses a broken or cyclic macro
/// (whose errors are reported elsewhere) or a field that does not resolve.
pub fn compile(expr: &Expr, env: &Env<'_>, stack: &mut Vec<String>) -> Option<Node> {
    Some(match expr {
        Expr::And(items, _) => Node::And(
            items
                .iter()
                .map(|e| compile(e, env, stack))
                .collect::<Option<Vec<_>>>()?
                .into(),
        ),
        Expr::Or(items, _) => Node::Or(
            items
                .iter()
                .map(|e| compile(e, env, stack))
                .collect::<Option<Vec<_>>>()?
                .into(),
        ),
        Expr::Not(inner, _) => Node::Not(Ptr::new(compile(inner, env, stack)?)),
        Expr::Macro(name, _) => {
            if stack.iter().any(|m| m == name) {
                return None;
            }
            let entry = env.macros.get(name)?;
            if let Some(node) = entry.compiled.get() {
                return Some(Node::Shared(node.clone()));
            }
            let ast = entry.ast.as_ref()?;
            stack.push(name.clone());
            let node = compile(ast, env, stack);
            stack.pop();
            // Only a successful compile is kept: it has no cycle, whatever the stack.
            let node = Ptr::new(node?);
            let _ = entry.compiled.set(node.clone());
            Node::Shared(node)
        }
        Expr::Check { field, op, rhs, .. } => {
            let field = Field::resolve(&field.name, field.arg.as_deref()).ok()?;
            Node::Check(Ptr::new(Check::new(field, *op, rhs, env.lists)?))
        }
    })
}

/// Inlines list names (unquoted words naming a `list:`), recursively.
pub fn expand_values(values: &[Value], lists: &NameMap<Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        if !v.quoted && lists.contains_key(&v.text) {
            expand_list_into(&v.text, lists, &mut out, &mut Vec::new());
        } else {
            out.push(v.text.clone());
        }
    }
    out
}

/// A list's items with nested list names inlined; a cycle stops the recursion.
pub fn expand_list_into(
    name: &str,
    lists: &NameMap<Vec<String>>,
    out: &mut Vec<String>,
    seen: &mut Vec<String>,
) {
    if seen.iter().any(|s| s == name) {
        return;
    }
    seen.push(name.to_string());
    for item in lists.get(name).into_iter().flatten() {
        if lists.contains_key(item) {
            expand_list_into(item, lists, out, seen);
        } else {
            out.push(item.clone());
        }
    }
    seen.pop();
}

impl Check {
    /// A check from already-expanded operands (used for rule exceptions).
    pub fn from_values<T: Into<Text>>(
        field: impl Into<Ptr<Field>>,
        op: Op,
        values: impl IntoIterator<Item = T>,
    ) -> Option<Check> {
        let mut values = values.into_iter().map(Into::into);
        let rhs = match op {
            Op::Exists => CRhs::None,
            Op::In | Op::Intersects => CRhs::Set(values.collect()),
            Op::PMatch => CRhs::Paths(values.collect::<Vec<_>>().into()),
            _ => one(op, values.next()?)?,
        };
        Some(Check {
            field: field.into(),
            op,
            rhs,
        })
    }

    fn new(field: Field, op: Op, rhs: &Rhs, lists: &NameMap<Vec<String>>) -> Option<Check> {
        let values = match rhs {
            Rhs::None => vec![],
            Rhs::Value(v) => vec![v.text.clone()],
            Rhs::List(vs) => expand_values(vs, lists),
        };
        if op == Op::Exists {
            return Some(Check {
                field: Ptr::new(field),
                op,
                rhs: CRhs::None,
            });
        }
        if !op.takes_list() && values.is_empty() {
            return None;
        }
        Check::from_values(field, op, values)
    }

    fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self.field.extract(ctx) {
            Vals::Missing => false,
            Vals::One(v) => {
                if self.field.is_list() {
                    self.eval_list(std::slice::from_ref(&v))
                } else {
                    self.eval_one(&v)
                }
            }
            Vals::Many(vs) => !vs.is_empty() && self.eval_list(&vs),
        }
    }

    fn eval_list(&self, vs: &[Cow<'_, str>]) -> bool {
        match (&self.op, &self.rhs) {
            (Op::Exists, _) => true,
            (Op::In, CRhs::Set(set)) => vs.iter().all(|v| set.contains(v.as_ref())),
            (Op::Ne, CRhs::One { text, .. }) => !vs.iter().any(|v| v == text),
            _ => vs.iter().any(|v| self.eval_one(v)),
        }
    }

    fn eval_one(&self, v: &str) -> bool {
        match &self.rhs {
            CRhs::None => self.op == Op::Exists,
            CRhs::Set(set) => set.contains(v),
            CRhs::Paths(paths) => paths.iter().any(|p| path_under(v, p)),
            CRhs::One { text, num, bytes } => match self.op {
                Op::Eq => v == text,
                Op::Ne => v != text,
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let ord = match (num, parse_num(v)) {
                        (Some(r), Some(l)) => l.partial_cmp(r),
                        _ => Some(v.cmp(text)),
                    };
                    let Some(ord) = ord else { return false };
                    match self.op {
                        Op::Lt => ord.is_lt(),
                        Op::Le => ord.is_le(),
                        Op::Gt => ord.is_gt(),
                        _ => ord.is_ge(),
                    }
                }
                Op::Contains => v.contains(text.as_ref()),
                Op::IContains => icontains(v, text),
                Op::StartsWith => v.starts_with(text.as_ref()),
                Op::EndsWith => v.ends_with(text.as_ref()),
                Op::BContains => v
                    .as_bytes()
                    .windows(bytes.len().max(1))
                    .any(|w| w == bytes.as_ref()),
                Op::BStartsWith => v.as_bytes().starts_with(bytes),
                Op::Glob => glob(text.as_bytes(), v.as_bytes(), false),
                Op::IGlob => glob(text.as_bytes(), v.as_bytes(), true),
                Op::In | Op::Intersects | Op::PMatch | Op::Exists => false,
            },
        }
    }
}

fn one(op: Op, text: Text) -> Option<CRhs> {
    let bytes = if matches!(op, Op::BContains | Op::BStartsWith) {
        decode_hex(&text)?
    } else {
        Vec::new()
    };
    Some(CRhs::One {
        num: parse_num(&text),
        text,
        bytes: bytes.into(),
    })
}

/// The macros under `roots` whose every check reads the same plain event field, by node
/// address, with that field's path: their result depends on that field's text alone.
/// Macros of a single check are left out (looking the text up costs what the check does).
pub(crate) fn single_field_macros(roots: &[&Node]) -> SingleFieldMacros {
    fn field_of(
        node: &Node,
        path: &mut Option<&'static [&'static str]>,
        checks: &mut usize,
    ) -> bool {
        match node {
            Node::Const(_) => true,
            Node::And(items) | Node::Or(items) => items.iter().all(|n| field_of(n, path, checks)),
            Node::Not(inner) => field_of(inner, path, checks),
            Node::Shared(inner) => field_of(inner, path, checks),
            Node::Check(c) => {
                *checks += 1;
                match c.field.plain_path() {
                    Some(p) if path.is_none_or(|known| known == p) => {
                        *path = Some(p);
                        true
                    }
                    _ => false,
                }
            }
        }
    }
    fn visit(node: &Node, out: &mut SingleFieldMacros, seen: &mut Vec<usize>) {
        match node {
            Node::Const(_) | Node::Check(_) => {}
            Node::And(items) | Node::Or(items) => items.iter().for_each(|n| visit(n, out, seen)),
            Node::Not(inner) => visit(inner, out, seen),
            Node::Shared(inner) => {
                let address = Ptr::addr(inner);
                if seen.contains(&address) {
                    return;
                }
                seen.push(address);
                let (mut path, mut checks) = (None, 0);
                if field_of(inner, &mut path, &mut checks)
                    && checks > 1
                    && let Some(path) = path
                {
                    out.insert(address, path);
                }
                visit(inner, out, seen);
            }
        }
    }
    let mut out = SingleFieldMacros::default();
    let mut seen = Vec::new();
    for root in roots {
        visit(root, &mut out, &mut seen);
    }
    out
}

impl Node {
    pub fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::And(items) => items.iter().all(|n| n.eval(ctx)),
            Node::Or(items) => items.iter().any(|n| n.eval(ctx)),
            Node::Not(inner) => !inner.eval(ctx),
            Node::Check(c) => c.eval(ctx),
            Node::Shared(inner) => {
                let node = Ptr::addr(inner);
                ctx.shared(node, || ctx.across_batch(node, || inner.eval(ctx)))
            }
        }
    }
}

impl Node {
    /// The values the plain field at `path` (`["verb"]` for `ka.verb`) must take for this
    /// condition to hold, when the condition pins it with `=` or `in` on every way to match;
    /// `None` when any value might do. The rule index uses it to skip rules that cannot
    /// match an event's verb or resource.
    pub fn required_values(&self, path: &[&str]) -> Option<ValueSet<'_>> {
        match self {
            Node::Const(false) => Some(ValueSet::default()),
            Node::Const(true) | Node::Not(_) => None,
            Node::And(items) => items
                .iter()
                .filter_map(|n| n.required_values(path))
                .reduce(|a, b| a.intersection(&b).cloned().collect()),
            Node::Or(items) => items.iter().try_fold(ValueSet::default(), |mut acc, n| {
                acc.extend(n.required_values(path)?);
                Some(acc)
            }),
            Node::Check(c) if c.field.plain_path() == Some(path) => match (&c.op, &c.rhs) {
                (Op::Eq, CRhs::One { text, .. }) => Some(ValueSet::from_iter([text.as_ref()])),
                (Op::In, CRhs::Set(set)) => Some(set.iter().map(AsRef::as_ref).collect()),
                _ => None,
            },
            Node::Check(_) => None,
            Node::Shared(inner) => inner.required_values(path),
        }
    }
}

/// A strict decimal number: optional sign, digits, optional fraction.
fn parse_num(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(int) && digits(frac) {
        s.parse().ok()
    } else {
        None
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

/// ASCII case-insensitive substring search. Candidate positions come from a SIMD scan for
/// the needle's first byte in either case (EKS-049 runs a dozen of these on every event's
/// user agent).
fn icontains(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return true;
    };
    if h.len() < n.len() {
        return false;
    }
    let last_start = h.len() - n.len();
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), h)
        .take_while(|&i| i <= last_start)
        .any(|i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn path_under(v: &str, p: &str) -> bool {
    let p = if p.len() > 1 {
        p.trim_end_matches('/')
    } else {
        p
    };
    v == p
        || (p == "/" && v.starts_with('/'))
        || (v.starts_with(p) && v.as_bytes().get(p.len()) == Some(&b'/'))
}

/// Glob match with `*`, `?`, `[...]` (`!`/`^` negates, ranges) and `\` escapes.
fn glob(pat: &[u8], s: &[u8], fold: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = class(pat, p, s[i], fold) {
                        if matched {
                            p = next;
                            i += 1;
                            continue;
                        }
                    } else if eq(b'[', s[i]) {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() => {
                    if eq(pat[p + 1], s[i]) {
                        p += 2;
                        i += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, s[i]) {
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// Matches `c` against the class starting at `pat[start] == '['`: (matched, index after `]`).
fn class(pat: &[u8], start: usize, c: u8, fold: bool) -> Option<(bool, usize)> {
    let mut j = start + 1;
    let negate = matches!(pat.get(j), Some(b'!' | b'^'));
    if negate {
        j += 1;
    }
    let c = if fold { c.to_ascii_lowercase() } else { c };
    let mut matched = false;
    let mut first = true;
    while j < pat.len() {
        let lo = pat[j];
        if lo == b']' && !first {
            return Some((matched != negate, j + 1));
        }
        first = false;
        let (lo, hi, step) =
            if pat.get(j + 1) == Some(&b'-') && pat.get(j + 2).is_some_and(|&h| h != b']') {
                (lo, pat[j + 2], 3)
            } else {
                (lo, lo, 1)
            };
        let (lo, hi) = if fold {
            (lo.to_ascii_lowercase(), hi.to_ascii_lowercase())
        } else {
            (lo, hi)
        };
        if lo <= c && c <= hi {
            matched = true;
        }
        j += step;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;
    use serde_json::{Value as J, json};

    fn run(cond: &str, ev: &J) -> bool {
        run_with(cond, ev, &NameMap::default(), &NameMap::default())
    }

    fn run_with(
        cond: &str,
        ev: &J,
        macros: &NameMap<MacroEntry>,
        lists: &NameMap<Vec<String>>,
    ) -> bool {
        let env = Env { macros, lists };
        let ast = parse(cond).unwrap();
        let mut errs = vec![];
        check_local(&ast, &env, &mut errs);
        assert!(errs.is_empty(), "{errs:?}");
        let node = compile(&ast, &env, &mut vec![]).unwrap();
        node.eval(&Ctx::new(ev, None))
    }

    fn ev() -> J {
        json!({
            "auditID": "a", "verb": "create", "requestURI": "/api/v1/namespaces/default/pods",
            "user": {"username": "system:serviceaccount:kube-system:foo", "groups": ["system:serviceaccounts", "system:authenticated"]},
            "responseStatus": {"code": 201},
            "objectRef": {"resource": "pods", "namespace": "default"},
            "requestObject": {"kind": "Pod", "spec": {"containers": [
                {"image": "nginx:1", "securityContext": {"privileged": false}},
                {"image": "busybox", "securityContext": {"privileged": true}}],
                "volumes": [{"hostPath": {"path": "/etc/kubernetes"}}]}}
        })
    }

    #[test]
    fn icontains_is_ascii_case_insensitive() {
        assert!(icontains("Mozilla kube-Hunter/1.0", "KUBE-HUNTER"));
        assert!(icontains("ab", "AB") && icontains("xab", "b") && icontains("", ""));
        assert!(!icontains("a", "ab") && !icontains("kube-hunte", "kube-hunter"));
        assert!(icontains("ÄÖkubectl", "KUBECTL") && !icontains("ÄÖ", "ä"));
    }

    #[test]
    fn scalar_operators() {
        let e = ev();
        assert!(run("ka.verb = create", &e));
        assert!(run("ka.verb == 'create'", &e));
        assert!(!run("ka.verb != create", &e));
        assert!(run("ka.verb in (get, create)", &e));
        assert!(run("ka.verb intersects (create)", &e));
        assert!(run(
            "ka.response.code < 400 and ka.response.code >= 201",
            &e
        ));
        assert!(!run("ka.response.code > 1000", &e));
        assert!(run("ka.response.code startswith 2", &e));
        assert!(run(
            "ka.user.name startswith system: and ka.user.name endswith :foo",
            &e
        ));
        assert!(run("ka.user.name contains kube-system", &e));
        assert!(run("ka.user.name icontains KUBE-SYSTEM", &e));
        assert!(run("ka.uri glob '/api/*/pods'", &e));
        assert!(run("ka.uri iglob '/API/v[0-9]/*'", &e));
        assert!(!run("ka.uri glob '/api/v[!1]/*'", &e));
        assert!(run("ka.verb bcontains 7265", &e));
        assert!(run("ka.verb bstartswith 63", &e));
        assert!(run("ka.uri pmatch (/api/v1, /x)", &e));
        assert!(!run("ka.uri pmatch (/api/v)", &e));
        assert!(run("ka.verb exists and not ka.target.name exists", &e));
    }

    #[test]
    fn missing_field_makes_everything_false() {
        let e = ev();
        for c in [
            "ka.target.name = x",
            "ka.target.name != x",
            "ka.target.name in (x)",
            "ka.target.name < 1",
            "ka.target.name contains x",
            "ka.target.name exists",
            "ka.req.pod.initContainers.image != x",
            "ka.req.pod.initContainers.image in (x)",
        ] {
            assert!(!run(c, &e), "{c}");
        }
        assert!(run("not ka.target.name != x", &e));
    }

    #[test]
    fn list_field_semantics() {
        let e = ev();
        assert!(run(
            "ka.user.groups in (system:serviceaccounts, system:authenticated, x)",
            &e
        ));
        assert!(!run("ka.user.groups in (system:serviceaccounts)", &e));
        assert!(run(
            "ka.user.groups intersects (system:serviceaccounts)",
            &e
        ));
        assert!(!run("ka.user.groups intersects (system:masters)", &e));
        assert!(run(
            "ka.req.pod.containers.privileged intersects (true)",
            &e
        ));
        assert!(!run("ka.req.pod.containers.privileged in (true)", &e));
        assert!(run("ka.req.pod.containers.privileged = true", &e));
        assert!(!run("ka.req.pod.containers.privileged != true", &e));
        assert!(run("ka.req.pod.containers.image.repository != alpine", &e));
        assert!(run(
            "ka.req.pod.containers.image.repository startswith busy",
            &e
        ));
        assert!(run("ka.req.pod.volumes.hostpath pmatch (/etc)", &e));
        assert!(!run("ka.req.pod.volumes.hostpath pmatch (/et)", &e));
        assert!(run("ka.req.pod.containers.image[1] = busybox", &e));
        assert!(!run("ka.req.pod.containers.image[0] = busybox", &e));
        assert!(!run("ka.req.pod.containers.image in ()", &e));
    }

    #[test]
    fn numbers_compare_numerically_else_as_strings() {
        let e = json!({"auditID": "a", "responseStatus": {"code": 99}, "verb": "b"});
        assert!(run("ka.response.code < 100", &e));
        assert!(run("ka.response.code < 100.5", &e));
        assert!(run("ka.verb < c and ka.verb > a", &e));
    }

    #[test]
    fn macros_and_lists_expand() {
        let mut lists = NameMap::default();
        lists.insert("inner".to_string(), vec!["create".to_string()]);
        lists.insert(
            "outer".to_string(),
            vec!["get".to_string(), "inner".to_string()],
        );
        let mut macros = NameMap::default();
        macros.insert(
            "is_write".to_string(),
            MacroEntry::new(Some(parse("ka.verb in (outer)").unwrap())),
        );
        macros.insert(
            "wrapper".to_string(),
            MacroEntry::new(Some(parse("is_write and ka.verb exists").unwrap())),
        );
        let e = ev();
        assert!(run_with("wrapper", &e, &macros, &lists));
        assert!(!run_with("ka.verb in ('outer')", &e, &macros, &lists));
        assert!(run_with("ka.verb in outer", &e, &macros, &lists));
    }

    #[test]
    fn cyclic_macros_do_not_compile() {
        let mut macros = NameMap::default();
        macros.insert("a".to_string(), MacroEntry::new(Some(parse("b").unwrap())));
        macros.insert("b".to_string(), MacroEntry::new(Some(parse("a").unwrap())));
        let lists = NameMap::default();
        let env = Env {
            macros: &macros,
            lists: &lists,
        };
        assert!(compile(&parse("a").unwrap(), &env, &mut vec![]).is_none());
    }

    #[test]
    fn local_errors() {
        let macros = NameMap::default();
        let mut lists = NameMap::default();
        lists.insert("l".to_string(), vec![]);
        let env = Env {
            macros: &macros,
            lists: &lists,
        };
        let mut errs = vec![];
        check_local(
            &parse("ka.nope = 1 and nomacro and l and ka.verb bcontains zz").unwrap(),
            &env,
            &mut errs,
        );
        let msgs: Vec<_> = errs.iter().map(|e| e.1.as_str()).collect();
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(msgs[0].contains("unknown field 'ka.nope'"));
        assert!(msgs[1].contains("unknown macro 'nomacro'"));
        assert!(msgs[2].contains("is a list"));
        assert!(msgs[3].contains("hex"));
        assert_eq!(errs[0].0, Span::new(0, 7));
    }

    #[test]
    fn text_sets_hold_their_values_once_and_nothing_else() {
        // Against a HashSet: many sizes (table growth), duplicates, near misses, empty text.
        let mut oracle = std::collections::HashSet::new();
        let mut values = Vec::new();
        for i in 0..300u32 {
            let v = format!("value-{}", i * 7 % 211);
            oracle.insert(v.clone());
            values.push(v);
            let set: TextSet = values.iter().cloned().collect();
            assert_eq!(set.iter().count(), oracle.len());
            assert!(set.slots.len().is_power_of_two() && set.slots.len() >= 2 * oracle.len());
            for probe in 0..230 {
                let p = format!("value-{probe}");
                assert_eq!(set.contains(&p), oracle.contains(&p), "{p} after {i}");
                assert!(!set.contains(&format!("{p}-")));
            }
            assert!(!set.contains(""));
        }
        // In the order first given, duplicates dropped.
        let set: TextSet = ["b", "a", "b", "", "c"].into_iter().collect();
        assert_eq!(
            set.iter().map(AsRef::as_ref).collect::<Vec<&str>>(),
            ["b", "a", "", "c"]
        );
        assert!(set.contains("") && set.contains("c") && !set.contains("d"));
        let empty: TextSet = std::iter::empty::<&str>().collect();
        assert!(!empty.contains("") && !empty.contains("a"));
    }

    /// The built-in pack's tables are laid out by `build.rs` and probed by the binary, on
    /// machines that may differ: the hash depends on the bytes alone. Pinned here so that a
    /// change to it is a deliberate one (it would be harmless — both sides change — but a
    /// platform-dependent one would not be).
    #[test]
    fn the_set_hash_is_pinned() {
        assert_eq!(text_hash(""), 0);
        let words = [
            "get",
            "serviceaccounts/token",
            "system:masters",
            "pods/exec",
        ];
        let hashes: Vec<u64> = words.iter().map(|w| text_hash(w)).collect();
        assert_eq!(hashes, PINNED_HASHES, "{hashes:#x?}");
        // Every length up to three words long gives distinct values.
        let texts: Vec<String> = (0..=24).map(|n| "x".repeat(n)).collect();
        let distinct: std::collections::HashSet<u64> = texts.iter().map(|t| text_hash(t)).collect();
        assert_eq!(distinct.len(), texts.len());
    }

    const PINNED_HASHES: [u64; 4] = [
        0xd028_946f_dfc8_ea5a,
        0xb894_4590_e2ca_7070,
        0x5663_b934_c849_c66b,
        0x5f67_2ff8_6dd4_44f7,
    ];

    /// A check is held once per use in every rule (~540 in the built-in pack): static data
    /// a cold start reads page by page, or heap for rules compiled at run time.
    #[test]
    fn checks_stay_small() {
        assert!(size_of::<Check>() <= 88, "{} bytes", size_of::<Check>());
    }

    #[test]
    fn glob_cases() {
        assert!(glob(b"*", b"", false));
        assert!(glob(b"a*b*c", b"axxbyyc", false));
        assert!(!glob(b"a*b*c", b"axxbyy", false));
        assert!(glob(b"a?c", b"abc", false));
        assert!(glob(b"\\*x", b"*x", false));
        assert!(glob(b"[a-c]x", b"bx", false));
        assert!(glob(b"[]]", b"]", false));
        assert!(glob(b"ABC", b"abc", true));
    }
}
