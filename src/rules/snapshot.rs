//! A compiled [`RuleSet`] as bytes, so the built-in pack is compiled once, by `build.rs`,
//! instead of at every cold start: loading it from YAML (parse, expand macros and lists,
//! resolve fields, parse outputs) is most of the function's own start-up time, and decoding
//! the result is a small fraction of that.
//!
//! The format is private to one build: `build.rs` compiles this same file and the rules
//! compiler, so encoder and decoder always agree. It stores what the compiler produced, not
//! its inputs, except where re-deriving is cheap and exact: a field is stored as its name
//! and argument and resolved again, a check as its operator and operand values (the number
//! and hex forms are derived from the text, as the compiler derives them). Macros shared
//! between rules stay shared. Sets are written sorted, so the bytes do not depend on hash
//! order. Anything unexpected while decoding yields `None` and the caller compiles the
//! sources instead.

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::Op;
use super::compile::{CRhs, Check, Node};
use super::fields::Field;
use super::load::Compiled;
use super::output::{Output, Part};
use super::{RuleInfo, RuleSet};
use crate::severity::Severity;

const MAGIC: &[u8] = b"eaw-rules/1\n";

/// The bytes of `set`.
pub fn encode(set: &RuleSet) -> Vec<u8> {
    let mut w = Writer {
        out: MAGIC.to_vec(),
        shared: HashMap::new(),
    };
    w.len(set.infos.len());
    for (info, compiled) in set.infos.iter().zip(&set.compiled) {
        w.info(info);
        w.node(&compiled.node);
        w.output(&compiled.output);
    }
    w.out
}

/// The rule set `bytes` hold, or `None` when they are not a snapshot of this build.
pub fn decode(bytes: &[u8]) -> Option<RuleSet> {
    let mut r = Reader {
        rest: bytes.strip_prefix(MAGIC)?,
        shared: Vec::new(),
    };
    let n = r.len()?;
    let mut infos = Vec::with_capacity(n);
    let mut compiled = Vec::with_capacity(n);
    for _ in 0..n {
        infos.push(r.info()?);
        let node = r.node(0)?;
        let output = r.output()?;
        compiled.push(Compiled { node, output });
    }
    r.rest
        .is_empty()
        .then(|| RuleSet::assemble(infos, compiled))
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

struct Writer {
    out: Vec<u8>,
    /// Shared nodes by address → their number.
    shared: HashMap<*const Node, usize>,
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

    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.out.extend_from_slice(s.as_bytes());
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
            CRhs::Set(set) => set.iter().map(String::as_str).collect(),
            CRhs::Paths(paths) => paths.iter().map(String::as_str).collect(),
        };
        if let CRhs::Set(_) = check.rhs {
            values.sort_unstable();
        }
        self.len(values.len());
        for v in values {
            self.str(v);
        }
    }

    fn field(&mut self, field: &Field) {
        let (name, arg) = field.source();
        self.str(name);
        match arg {
            None => self.out.push(ARG_NONE),
            Some(arg) => {
                self.out.push(ARG_SOME);
                self.str(&arg);
            }
        }
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

struct Reader<'b> {
    rest: &'b [u8],
    /// Shared nodes in the order they were first written.
    shared: Vec<Arc<Node>>,
}

impl<'b> Reader<'b> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(b)
    }

    fn len(&mut self) -> Option<usize> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                // No count or length can exceed the bytes left: bounds every allocation.
                return usize::try_from(n).ok().filter(|&n| n <= self.rest.len());
            }
        }
        None
    }

    fn str(&mut self) -> Option<&'b str> {
        let n = self.len()?;
        let (text, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        std::str::from_utf8(text).ok()
    }

    fn info(&mut self) -> Option<RuleInfo> {
        let id = self.str()?.to_string();
        let name = self.str()?.to_string();
        let severity = Severity::parse(self.str()?)?;
        let priority = self.str()?.to_string();
        let tags = (0..self.len()?)
            .map(|_| self.str().map(str::to_string))
            .collect::<Option<_>>()?;
        Some(RuleInfo {
            id,
            name,
            severity,
            priority,
            tags,
            desc: self.str()?.to_string(),
            source: self.str()?.to_string(),
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
                let number = self.len()?;
                Node::Shared(Arc::clone(self.shared.get(number)?))
            }
            _ => return None,
        })
    }

    fn check(&mut self) -> Option<Check> {
        let field = self.field()?;
        let op = Op::from_text(self.str()?)?;
        let values = (0..self.len()?)
            .map(|_| self.str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?;
        Check::from_values(field, op, values)
    }

    fn field(&mut self) -> Option<Field> {
        let name = self.str()?;
        let arg = match self.byte()? {
            ARG_NONE => None,
            ARG_SOME => Some(self.str()?),
            _ => return None,
        };
        Field::resolve(name, arg).ok()
    }

    fn output(&mut self) -> Option<Output> {
        let parts = (0..self.len()?)
            .map(|_| match self.byte()? {
                PART_LIT => Some(Part::Lit(self.str()?.to_string())),
                PART_FIELD => Some(Part::Field(self.field()?)),
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

    #[test]
    fn damaged_snapshots_are_refused_not_misread() {
        let good = encode(&compiled_from_sources());
        assert!(decode(&good).is_some());
        assert!(decode(&[]).is_none());
        assert!(decode(b"eaw-rules/0\n").is_none());
        // Every truncation, and a byte flipped at many offsets: None or a rule set, never a
        // panic; truncations always None (the rule count promises more).
        for cut in (0..good.len()).step_by(97) {
            assert!(decode(&good[..cut]).is_none(), "cut at {cut}");
        }
        for at in (MAGIC.len()..good.len()).step_by(89) {
            let mut bad = good.clone();
            bad[at] ^= 0xff;
            let _ = decode(&bad);
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode(&trailing).is_none());
    }
}
