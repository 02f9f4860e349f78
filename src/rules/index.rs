//! Which rules can match an event, by its verb and resource, before any rule is evaluated.
//!
//! Almost every rule pins `ka.verb` and `ka.target.resource` with `=` or `in` (directly or
//! through macros); most events are kubelet and controller traffic no rule is about. The
//! index reads the two values once per event and hands [`super::RuleSet::evaluate`] the
//! rules that could match, in file order, as a bit set.

use smallvec::SmallVec;
use std::collections::HashMap;

use serde_json::Value;

use super::compile::Node;
use crate::doc::JsonDoc;

const VERB: &[&str] = &["verb"];
const RESOURCE: &[&str] = &["objectRef", "resource"];

/// A set of rule positions: in place for up to 128 rules (the built-in pack has 51), so an
/// event's candidate set costs no allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bits(SmallVec<[u64; 2]>);

impl Bits {
    fn empty(n: usize) -> Bits {
        Bits(smallvec::smallvec![0; n.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn and(&self, other: &Bits) -> Bits {
        Bits(self.0.iter().zip(&other.0).map(|(a, b)| a & b).collect())
    }

    /// The positions in the set, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(w, &word)| {
            let mut rest = word;
            std::iter::from_fn(move || {
                (rest != 0).then(|| {
                    let bit = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    w * 64 + bit
                })
            })
        })
    }
}

/// The candidates for each value of one field.
#[derive(Debug)]
struct FieldIndex {
    path: &'static [&'static str],
    /// Value → rules that pin the field to a set holding it, plus the unpinned ones.
    by_value: HashMap<String, Bits, foldhash::fast::RandomState>,
    /// Rules that do not pin the field (candidates when the value is pinned by none).
    unpinned: Bits,
    /// Every indexed rule (when the value is not a string, nothing can be ruled out).
    all: Bits,
}

impl FieldIndex {
    fn build(path: &'static [&'static str], rules: &[Option<&Node>]) -> FieldIndex {
        let n = rules.len();
        let required: Vec<_> = rules
            .iter()
            .map(|r| r.map(|node| node.required_values(path)))
            .collect();
        let (mut unpinned, mut all) = (Bits::empty(n), Bits::empty(n));
        for (i, req) in required.iter().enumerate() {
            match req {
                None => continue,
                Some(None) => unpinned.set(i),
                Some(Some(_)) => {}
            }
            all.set(i);
        }
        let mut by_value: HashMap<String, Bits, foldhash::fast::RandomState> = HashMap::default();
        for (i, req) in required.iter().enumerate() {
            if let Some(Some(values)) = req {
                for &v in values {
                    if let Some(bits) = by_value.get_mut(v) {
                        bits.set(i);
                    } else {
                        let mut bits = unpinned.clone();
                        bits.set(i);
                        by_value.insert(v.to_string(), bits);
                    }
                }
            }
        }
        FieldIndex {
            path,
            by_value,
            unpinned,
            all,
        }
    }

    fn candidates(&self, event: &dyn JsonDoc) -> &Bits {
        if let Some(s) = event.string_in(self.path) {
            return self.by_value.get(s).unwrap_or(&self.unpinned);
        }
        match event.path(self.path) {
            // A missing field fails every `=`/`in` on it.
            None | Some(Value::Null) => &self.unpinned,
            Some(Value::String(s)) => self.by_value.get(s.as_str()).unwrap_or(&self.unpinned),
            Some(_) => &self.all,
        }
    }
}

/// The rule index of a [`super::RuleSet`].
#[derive(Debug)]
pub struct RuleIndex {
    verb: FieldIndex,
    resource: FieldIndex,
}

impl RuleIndex {
    /// `rules[i]` is the condition of rule `i`, `None` for a disabled rule (never a candidate).
    pub fn build(rules: &[Option<&Node>]) -> RuleIndex {
        RuleIndex {
            verb: FieldIndex::build(VERB, rules),
            resource: FieldIndex::build(RESOURCE, rules),
        }
    }

    /// The rules that could match `event`.
    pub fn candidates(&self, event: &dyn JsonDoc) -> Bits {
        self.verb
            .candidates(event)
            .and(self.resource.candidates(event))
    }

    /// How many rules pin the verb, the resource (for `rules list` and the benchmark notes).
    pub fn pinned_counts(&self) -> (usize, usize) {
        let pinned = |f: &FieldIndex| f.all.iter().count() - f.unpinned.iter().count();
        (pinned(&self.verb), pinned(&self.resource))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RuleSet, RuleSource};
    use serde_json::json;

    fn set(text: &str) -> RuleSet {
        RuleSet::load(&[RuleSource {
            name: "t.yaml".into(),
            text: text.into(),
        }])
        .unwrap()
        .0
    }

    #[test]
    fn bits_iterate_in_order() {
        let mut b = Bits::empty(130);
        for i in [129, 0, 64, 3] {
            b.set(i);
        }
        assert_eq!(b.iter().collect::<Vec<_>>(), [0, 3, 64, 129]);
    }

    #[test]
    fn pinned_by_eq_in_and_macros_unpinned_by_or_and_not() {
        let rules = set(r#"
- macro: writes
  condition: ka.verb in (create, update, patch)
- rule: r0
  desc: d
  condition: writes and ka.target.resource = configmaps
  output: o
  priority: info
- rule: r1
  desc: d
  condition: ka.verb = delete or ka.user.name = bob
  output: o
  priority: info
- rule: r2
  desc: d
  condition: (ka.verb = get and ka.target.resource = secrets) or (ka.verb = list and ka.target.resource in (secrets, pods))
  output: o
  priority: info
- rule: r3
  desc: d
  condition: not ka.verb = get
  output: o
  priority: info
- rule: r4
  desc: d
  condition: ka.verb = get
  output: o
  priority: info
  enabled: false
"#);
        let idx = &rules.index;
        let ids = |ev: Value| idx.candidates(&ev).iter().collect::<Vec<_>>();
        assert_eq!(
            ids(json!({"verb": "create", "objectRef": {"resource": "configmaps"}})),
            [0, 1, 3]
        );
        assert_eq!(
            ids(json!({"verb": "create", "objectRef": {"resource": "pods"}})),
            [1, 3]
        );
        assert_eq!(
            ids(json!({"verb": "list", "objectRef": {"resource": "pods"}})),
            [1, 2, 3]
        );
        assert_eq!(
            ids(json!({"verb": "get", "objectRef": {"resource": "secrets"}})),
            [1, 2, 3]
        );
        assert_eq!(ids(json!({"objectRef": {"resource": "secrets"}})), [1, 3]);
        // A verb that is not a string rules nothing out.
        assert_eq!(
            ids(json!({"verb": 7, "objectRef": {"resource": "configmaps"}})),
            [0, 1, 3]
        );
        assert_eq!(idx.pinned_counts(), (2, 2));
    }
}
