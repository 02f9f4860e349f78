//! Evaluation of a parsed pattern against one event ([`JsonDoc`]), plus the
//! value matchers the parser precompiles ([`StringMatcher`], [`NumberLit`]).
//!
//! Evaluation walks the event by reference and does not allocate: string
//! values are matched with precompiled prefix/suffix/contains/glob matchers,
//! and the JSON text of a number is rendered into a stack buffer.

use std::cmp::Ordering;
use std::fmt::Write as _;

use serde_json::{Number, Value};

use crate::doc::JsonDoc;

use super::parser::{CmpOp, Condition, Expr, ExprKind, Segment, Test};

/// Returns true when `event` satisfies `expr`.
pub(super) fn eval(expr: &Expr, event: &dyn JsonDoc) -> bool {
    eval_reading(expr, event, &mut TopLevelStrings::default())
}

fn eval_reading<'p, 'e>(
    expr: &'p Expr,
    event: &'e dyn JsonDoc,
    read: &mut TopLevelStrings<'p, 'e>,
) -> bool {
    match &expr.kind {
        ExprKind::All(items) => items.iter().all(|e| eval_reading(e, event, read)),
        ExprKind::Any(items) => items.iter().any(|e| eval_reading(e, event, read)),
        ExprKind::Cond(c) => eval_condition(c, event, read),
    }
}

/// Top-level strings already read for this event, by key: a pattern compares the same member
/// many times (the Lacework pattern reads `$.requestURI` ten times).
#[derive(Default)]
struct TopLevelStrings<'p, 'e> {
    read: [(&'p str, Option<&'e str>); 4],
    len: usize,
}

impl<'p, 'e> TopLevelStrings<'p, 'e> {
    fn get(&mut self, key: &'p str, event: &'e dyn JsonDoc) -> Option<&'e str> {
        if let Some((_, s)) = self.read[..self.len].iter().find(|(k, _)| *k == key) {
            return *s;
        }
        let s = event.string_in(&[key]);
        if let Some(slot) = self.read.get_mut(self.len) {
            *slot = (key, s);
            self.len += 1;
        }
        s
    }
}

/// Follows a selector path; `None` when any step is absent or has the wrong
/// type (a key into a non-object, an index into a non-array or out of range).
pub(super) fn resolve<'v>(root: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(root, |v, seg| match (seg, v) {
        (Segment::Key(k), Value::Object(map)) => map.get(&**k),
        (Segment::Index(i), Value::Array(items)) => items.get(*i),
        _ => None,
    })
}

/// As [`resolve`], from a document's top-level member (the path's first segment).
fn resolve_doc<'v>(doc: &'v dyn JsonDoc, path: &[Segment]) -> Option<&'v Value> {
    if let Some(root) = doc.as_value() {
        return resolve(root, path);
    }
    match path.split_first() {
        Some((Segment::Key(k), rest)) => resolve(doc.member(k)?, rest),
        _ => None,
    }
}

fn eval_condition<'p, 'e>(
    c: &'p Condition,
    event: &'e dyn JsonDoc,
    read: &mut TopLevelStrings<'p, 'e>,
) -> bool {
    // A string compared at a top-level member (`$.stage`, `$.requestURI`: every condition of
    // the Lacework pattern) is read as a string: a pipeline event then takes it from its text
    // without building a `Value`. Anything else takes the general path below.
    if let (Test::Text { negate, matcher }, [Segment::Key(key)]) = (&c.test, &c.path[..])
        && let Some(s) = read.get(key, event)
    {
        return matcher.is_match(s) != *negate;
    }
    let value = resolve_doc(event, &c.path);
    match &c.test {
        Test::NotExists => value.is_none(),
        Test::IsNull => matches!(value, Some(Value::Null)),
        Test::IsTrue => matches!(value, Some(Value::Bool(true))),
        Test::IsFalse => matches!(value, Some(Value::Bool(false))),
        // A comparison on a missing field is false, even `!=`.
        Test::Text { negate, matcher } => value
            .and_then(|v| with_text(v, |text| matcher.is_match(text) != *negate))
            .unwrap_or(false),
        Test::Number { op, value: lit } => match value {
            Some(Value::Number(n)) => lit.compare(*op, n),
            _ => false,
        },
    }
}

/// Calls `f` with the text a string value is compared against: the string
/// itself, `true`/`false` for booleans, the JSON text of a number. `None`
/// (no comparison possible) for null, arrays and objects.
fn with_text<R>(value: &Value, f: impl FnOnce(&str) -> R) -> Option<R> {
    match value {
        Value::String(s) => Some(f(s)),
        Value::Bool(true) => Some(f("true")),
        Value::Bool(false) => Some(f("false")),
        Value::Number(n) => {
            let mut buf = StackBuf::new();
            if write!(buf, "{n}").is_ok() {
                Some(f(buf.as_str()))
            } else {
                // Unreachable in practice: serde_json numbers render in well
                // under the buffer size.
                Some(f(&n.to_string()))
            }
        }
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// A fixed-size, stack-allocated `fmt::Write` target.
struct StackBuf {
    buf: [u8; 64],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 64],
            len: 0,
        }
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so this cannot fail.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A string value with its `*` wildcards compiled.
///
/// * no `*` — exact match;
/// * `*` alone (or only `*`s) — any string;
/// * `abc*` — prefix; `*abc` — suffix; `*abc*` — contains;
/// * anything else (a `*` between literal text, e.g. `a*b`, `*a*b*`) — a glob
///   in which each `*` matches any run of characters, including none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StringMatcher {
    Exact(Box<str>),
    Any,
    Prefix(Box<str>),
    Suffix(Box<str>),
    Contains(Box<str>),
    Glob {
        /// Literal text before the first `*` (may be empty).
        first: Box<str>,
        /// Non-empty literal runs between `*`s, in order.
        middle: Box<[Box<str>]>,
        /// Literal text after the last `*` (may be empty).
        last: Box<str>,
    },
}

impl StringMatcher {
    pub(super) fn new(pattern: &str) -> Self {
        if !pattern.contains('*') {
            return StringMatcher::Exact(pattern.into());
        }
        let parts: Vec<&str> = pattern.split('*').collect();
        // At least one '*', so at least two parts.
        let first = parts[0];
        let last = parts[parts.len() - 1];
        let middle: Vec<&str> = parts[1..parts.len() - 1]
            .iter()
            .copied()
            .filter(|p| !p.is_empty())
            .collect();
        match (first.is_empty(), middle.as_slice(), last.is_empty()) {
            (true, [], true) => StringMatcher::Any,
            (false, [], true) => StringMatcher::Prefix(first.into()),
            (true, [], false) => StringMatcher::Suffix(last.into()),
            (true, [only], true) => StringMatcher::Contains((*only).into()),
            _ => StringMatcher::Glob {
                first: first.into(),
                middle: middle.into_iter().map(Box::from).collect(),
                last: last.into(),
            },
        }
    }

    pub(super) fn is_match(&self, text: &str) -> bool {
        match self {
            StringMatcher::Exact(s) => text == &**s,
            StringMatcher::Any => true,
            StringMatcher::Prefix(p) => text.starts_with(&**p),
            StringMatcher::Suffix(s) => text.ends_with(&**s),
            StringMatcher::Contains(s) => text.contains(&**s),
            StringMatcher::Glob {
                first,
                middle,
                last,
            } => {
                let Some(rest) = text.strip_prefix(&**first) else {
                    return false;
                };
                let Some(mut rest) = rest.strip_suffix(&**last) else {
                    return false;
                };
                // Leftmost matching of each literal run is optimal for
                // `*`-only globs.
                for lit in middle.iter() {
                    match rest.find(&**lit) {
                        Some(i) => rest = &rest[i + lit.len()..],
                        None => return false,
                    }
                }
                true
            }
        }
    }
}

/// A numeric literal: `-12`, `3.5`, `1e3`, `.5`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NumberLit {
    value: f64,
    /// Exact value when the literal is an integer, for exact comparison
    /// against integer JSON numbers beyond f64 precision.
    int: Option<i128>,
}

impl NumberLit {
    /// Parses `-?(digits[.digits?] | .digits)([eE][+-]?digits)?`; `None` if
    /// the word is not a number (it is then a bareword string).
    pub(super) fn parse(word: &str) -> Option<NumberLit> {
        let b = word.as_bytes();
        let mut i = 0;
        if b.first() == Some(&b'-') {
            i += 1;
        }
        let int_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_digits = i - int_start;
        let mut frac_digits = 0;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let frac_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            frac_digits = i - frac_start;
        }
        if int_digits + frac_digits == 0 {
            return None;
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            let exp_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == exp_start {
                return None;
            }
        }
        if i != b.len() {
            return None;
        }
        let value: f64 = word.parse().ok()?;
        let int = if word.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
            word.parse::<i128>().ok()
        } else {
            None
        };
        Some(NumberLit { value, int })
    }

    /// `field <op> self`.
    pub(super) fn compare(&self, op: CmpOp, field: &Number) -> bool {
        let exact = field
            .as_i64()
            .map(i128::from)
            .or_else(|| field.as_u64().map(i128::from));
        let ord = match (exact, self.int) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => field.as_f64().and_then(|a| a.partial_cmp(&self.value)),
        };
        let Some(ord) = ord else {
            return false;
        };
        match op {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(pattern: &str, text: &str) -> bool {
        StringMatcher::new(pattern).is_match(text)
    }

    #[test]
    fn matcher_compilation() {
        use StringMatcher::*;
        assert_eq!(StringMatcher::new("abc"), Exact("abc".into()));
        assert_eq!(StringMatcher::new(""), Exact("".into()));
        assert_eq!(StringMatcher::new("*"), Any);
        assert_eq!(StringMatcher::new("**"), Any);
        assert_eq!(StringMatcher::new("/healthz*"), Prefix("/healthz".into()));
        assert_eq!(StringMatcher::new("*.json"), Suffix(".json".into()));
        assert_eq!(StringMatcher::new("*secret*"), Contains("secret".into()));
        assert_eq!(StringMatcher::new("*a**"), Contains("a".into()));
        assert_eq!(
            StringMatcher::new("a*b"),
            Glob {
                first: "a".into(),
                middle: Box::new([]),
                last: "b".into()
            }
        );
        assert_eq!(
            StringMatcher::new("*a*b*"),
            Glob {
                first: "".into(),
                middle: Box::new(["a".into(), "b".into()]),
                last: "".into()
            }
        );
    }

    #[test]
    fn exact_is_case_sensitive_and_whole() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "ABC"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abc", "xabc"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn prefix_suffix_contains() {
        assert!(m("/healthz*", "/healthz"));
        assert!(m("/healthz*", "/healthz?verbose"));
        assert!(!m("/healthz*", "/api/healthz"));
        assert!(m("*.json", "/swagger.json"));
        assert!(!m("*.json", "/swagger.json.gz"));
        assert!(m("*secret*", "secret"));
        assert!(m("*secret*", "/api/v1/secrets/x"));
        assert!(!m("*secret*", "/api/v1/Secrets"));
        assert!(m("*", ""));
        assert!(m("*", "anything"));
    }

    #[test]
    fn glob_in_the_middle() {
        assert!(m("10.*.1", "10.0.0.1"));
        assert!(m("10.*.1", "10..1"));
        assert!(!m("10.*.1", "10.1"), "prefix and suffix must not overlap");
        assert!(!m("10.*.1", "10.0.0.2"));
        assert!(m("ab*ba", "abba"));
        assert!(!m("ab*ba", "aba"));
        assert!(m("*a*b*", "xxaxxbxx"));
        assert!(!m("*a*b*", "xxbxxaxx"), "order matters");
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "a-c-b"));
        assert!(m("/api/*/pods*", "/api/v1/pods?watch=1"));
    }

    #[test]
    fn number_literal_parsing() {
        for ok in [
            "0", "12", "-12", "3.5", "-3.5", "1e3", "1E-3", "2.5e+10", ".5", "5.",
        ] {
            assert!(NumberLit::parse(ok).is_some(), "{ok} should be a number");
        }
        for not in [
            "",
            "-",
            ".",
            "1e",
            "1e+",
            "abc",
            "1.2.3",
            "123.123.*",
            "+5",
            "1x",
            "--1",
        ] {
            assert!(
                NumberLit::parse(not).is_none(),
                "{not} should not be a number"
            );
        }
    }

    fn cmp(field: Value, op: CmpOp, lit: &str) -> bool {
        let Value::Number(n) = field else {
            panic!("not a number")
        };
        NumberLit::parse(lit).unwrap().compare(op, &n)
    }

    #[test]
    fn numeric_comparison() {
        use CmpOp::*;
        assert!(cmp(json!(404), Ge, "400"));
        assert!(cmp(json!(400), Ge, "400"));
        assert!(!cmp(json!(399), Ge, "400"));
        assert!(cmp(json!(399), Lt, "400"));
        assert!(cmp(json!(400), Le, "400"));
        assert!(!cmp(json!(401), Le, "400"));
        assert!(cmp(json!(401), Gt, "400"));
        assert!(cmp(json!(1000), Eq, "1e3"));
        assert!(cmp(json!(1.0), Eq, "1"));
        assert!(cmp(json!(3), Lt, "3.5"));
        assert!(cmp(json!(-12), Eq, "-12"));
        assert!(cmp(json!(-12), Ne, "12"));
        assert!(!cmp(json!(5), Ne, "5"));
    }

    #[test]
    fn large_integers_compare_exactly() {
        use CmpOp::*;
        // 2^53 + 1 is not representable as f64.
        assert!(cmp(
            json!(9_007_199_254_740_993_u64),
            Ne,
            "9007199254740992"
        ));
        assert!(cmp(
            json!(9_007_199_254_740_993_u64),
            Eq,
            "9007199254740993"
        ));
        assert!(cmp(json!(u64::MAX), Gt, "18446744073709551614"));
    }

    #[test]
    fn text_of_values() {
        let text = |v: Value| with_text(&v, str::to_owned);
        assert_eq!(text(json!("s")), Some("s".into()));
        assert_eq!(text(json!(true)), Some("true".into()));
        assert_eq!(text(json!(false)), Some("false".into()));
        assert_eq!(text(json!(404)), Some("404".into()));
        assert_eq!(text(json!(-1.5)), Some("-1.5".into()));
        assert_eq!(text(json!(u64::MAX)), Some(u64::MAX.to_string()));
        assert_eq!(
            text(json!(-1.7976931348623157e308)),
            Some("-1.7976931348623157e+308".into())
        );
        assert_eq!(text(json!(null)), None);
        assert_eq!(text(json!([1])), None);
        assert_eq!(text(json!({"a": 1})), None);
    }

    #[test]
    fn resolve_paths() {
        let v = json!({"a": {"b": [10, {"c": "x"}, [1, [2, 3]]]}, "n": null});
        let key = |k: &str| Segment::Key(k.into());
        assert_eq!(
            resolve(&v, &[key("a"), key("b"), Segment::Index(1), key("c")]),
            Some(&json!("x"))
        );
        assert_eq!(
            resolve(
                &v,
                &[
                    key("a"),
                    key("b"),
                    Segment::Index(2),
                    Segment::Index(1),
                    Segment::Index(0)
                ]
            ),
            Some(&json!(2))
        );
        assert_eq!(resolve(&v, &[key("n")]), Some(&Value::Null));
        assert_eq!(resolve(&v, &[key("missing")]), None);
        assert_eq!(resolve(&v, &[key("a"), key("b"), Segment::Index(9)]), None);
        // Key into an array, index into an object, key through a scalar.
        assert_eq!(resolve(&v, &[key("a"), key("b"), key("0")]), None);
        assert_eq!(resolve(&v, &[key("a"), Segment::Index(0)]), None);
        assert_eq!(resolve(&v, &[key("n"), key("x")]), None);
    }
}
