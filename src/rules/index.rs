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
#[derive(Debug, PartialEq)]
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
    /// `required[i]`: `None` for a disabled rule (never a candidate), `Some(None)` for a rule
    /// that does not pin the field, `Some(Some(values))` for one that needs one of `values`.
    fn build<'v>(
        path: &'static [&'static str],
        required: impl ExactSizeIterator<Item = Option<Option<&'v [&'v str]>>> + Clone,
    ) -> FieldIndex {
        let n = required.len();
        let (mut unpinned, mut all) = (Bits::empty(n), Bits::empty(n));
        for (i, req) in required.clone().enumerate() {
            match req {
                None => continue,
                Some(None) => unpinned.set(i),
                Some(Some(_)) => {}
            }
            all.set(i);
        }
        let mut by_value: HashMap<String, Bits, foldhash::fast::RandomState> = HashMap::default();
        for (i, req) in required.enumerate() {
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

/// What one rule's condition requires of the two indexed fields: the values one of which
/// the field must hold, `None` when it does not pin the field. Sorted, so the built-in
/// pack's copy of them (written by `build.rs`) does not depend on hash order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required<'v> {
    pub verb: Option<std::borrow::Cow<'v, [&'v str]>>,
    pub resource: Option<std::borrow::Cow<'v, [&'v str]>>,
}

impl<'v> Required<'v> {
    pub fn of(node: &'v Node) -> Required<'v> {
        let values = |path| {
            node.required_values(path).map(|set| {
                let mut v: Vec<&str> = set.into_iter().collect();
                v.sort_unstable();
                v.into()
            })
        };
        Required {
            verb: values(VERB),
            resource: values(RESOURCE),
        }
    }
}

/// The rule index of a [`super::RuleSet`].
#[derive(Debug, PartialEq)]
pub struct RuleIndex {
    verb: FieldIndex,
    resource: FieldIndex,
}

impl RuleIndex {
    /// `rules[i]` is the condition of rule `i`, `None` for a disabled rule (never a candidate).
    pub fn build(rules: &[Option<&Node>]) -> RuleIndex {
        let required: Vec<_> = rules.iter().map(|r| r.map(Required::of)).collect();
        RuleIndex::from_required(&required)
    }

    /// The index of rules whose requirements are `required` (`None` for a disabled rule):
    /// what [`RuleIndex::build`] works out from the conditions, or what the built-in pack stores.
    pub fn from_required(required: &[Option<Required<'_>>]) -> RuleIndex {
        let verb = required
            .iter()
            .map(|r| r.as_ref().map(|r| r.verb.as_deref()));
        let resource = required
            .iter()
            .map(|r| r.as_ref().map(|r| r.resource.as_deref()));
        RuleIndex {
            verb: FieldIndex::build(VERB, verb),
            resource: FieldIndex::build(RESOURCE, resource),
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
