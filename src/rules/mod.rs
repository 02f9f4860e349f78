//! Detection rules in Falco's format, built as a small compiler: YAML items ([`load`]) →
//! tokens ([`lexer`]) → syntax tree with spans ([`parser`], [`ast`]) → a matcher with macros
//! and lists expanded away and fields resolved to extractors ([`compile`], [`fields`]) →
//! evaluated per event without re-parsing; outputs rendered by [`output`].
//!
//! ```
//! use eks_audit_watch::rules::{EventView, RuleMatching, RuleSet, RuleSource};
//! let src = RuleSource { name: "my.yaml".into(), text: r#"
//! - rule: Delete namespace
//!   id: MY-001
//!   desc: A namespace was deleted.
//!   condition: ka.verb = delete and ka.target.resource = namespaces
//!   output: "%ka.user.name deleted namespace %ka.target.name"
//!   priority: medium
//! "#.into() };
//! let (set, warnings) = RuleSet::load(&[src]).unwrap();
//! assert!(warnings.is_empty());
//! let ev = serde_json::json!({"auditID": "1", "verb": "delete", "user": {"username": "bob"},
//!     "objectRef": {"resource": "namespaces", "name": "prod"}});
//! let hits = set.evaluate(&EventView { event: &ev, enrichment: None }, RuleMatching::All);
//! assert_eq!(hits[0].output, "bob deleted namespace prod");
//! assert_eq!(set.rules()[hits[0].rule].id, "MY-001");
//! ```

pub mod ast;
// The built-in pack's static data, which `build.rs` writes (and, being compiled before it
// exists, does not include itself: the cfg is set for the library, not the build script).
#[cfg(builtin_pack)]
mod builtin;
pub mod codegen;
pub mod compile;
pub mod error;
pub mod fields;
pub mod index;
pub mod lexer;
pub mod load;
pub mod output;
pub mod parser;

pub use error::{RuleDiagnostic, RulesError};
pub use fields::BatchMemo;

use crate::doc::{EnrichmentDoc, JsonDoc};
use crate::severity::Severity;
use fields::Ctx;

/// One rules file (or text) to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// File path or label, used in diagnostics and [`RuleInfo::source`].
    pub name: String,
    pub text: String,
}

/// Whether [`RuleSet::evaluate`] reports every matching rule or only the first in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleMatching {
    #[default]
    All,
    First,
}

/// An event to evaluate: the audit event and, when the pipeline has it, its enrichment object
/// (read by the `eaw.*` fields).
#[derive(Clone, Copy)]
pub struct EventView<'a> {
    /// A `serde_json::Value` or the pipeline's lazily parsed
    /// [`AuditEvent`](crate::pipeline::event::AuditEvent).
    pub event: &'a dyn JsonDoc,
    /// A `Value` or the pipeline's [`Enrichment`](crate::pipeline::enrich::Enrichment).
    pub enrichment: Option<&'a dyn EnrichmentDoc>,
}

/// A rule set's text: borrowed from the built-in pack's static data, which is part of the
/// binary, or owned when compiled from YAML.
pub type Text = std::borrow::Cow<'static, str>;

/// What a loaded rule is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// `id:` when given, else derived from the name (lowercase, runs of non-alphanumerics → `-`).
    pub id: Text,
    pub name: Text,
    pub severity: Severity,
    /// The priority as written in the file.
    pub priority: Text,
    pub tags: compile::List<Text>,
    pub desc: Text,
    /// The source ([`RuleSource::name`]) that defined the rule.
    pub source: Text,
    pub enabled: bool,
}

/// A rule that matched an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// The rendered output, one line.
    pub output: String,
}

/// Compiled rules, ready to evaluate.
pub struct RuleSet {
    infos: compile::List<RuleInfo>,
    compiled: compile::List<load::Compiled>,
    index: index::RuleIndex,
    /// The macros a [`BatchMemo`] may keep results of.
    single_field: fields::SingleFieldMacros,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.infos)
            .finish()
    }
}

impl RuleSet {
    /// Loads `sources` in order, later ones amending earlier ones as Falco does. On success,
    /// also returns warnings (skipped items, unknown keys, redefinitions). On failure, every
    /// problem of every source.
    pub fn load(sources: &[RuleSource]) -> Result<(RuleSet, Vec<String>), RulesError> {
        RuleSet::load_prepared(sources, &[])
    }

    /// As [`RuleSet::load`]; `prepared[i]`, when present and not empty, is `sources[i]`
    /// already converted to JSON (the built-in pack).
    pub(crate) fn load_prepared(
        sources: &[RuleSource],
        prepared: &[&str],
    ) -> Result<(RuleSet, Vec<String>), RulesError> {
        match load::load(sources, prepared) {
            Ok(l) => Ok((
                RuleSet::assemble(l.infos.into(), l.compiled.into()),
                l.warnings,
            )),
            Err(errors) => Err(RulesError { errors }),
        }
    }

    /// The rule set of compiled rules, indexed.
    fn assemble(
        infos: compile::List<RuleInfo>,
        compiled: compile::List<load::Compiled>,
    ) -> RuleSet {
        let conditions = conditions(&infos, &compiled);
        let index = index::RuleIndex::build(&conditions);
        let roots: Vec<_> = conditions.into_iter().flatten().collect();
        let single_field = compile::single_field_macros(&roots);
        RuleSet {
            infos,
            compiled,
            index,
            single_field,
        }
    }

    /// The built-in pack as `build.rs` compiled it: static data, borrowed rather than built
    /// (only the rule index's and the batch memo's tables are filled in here, from what the
    /// pack stores of them). `None` when the pack did not compile at build time.
    pub(crate) fn from_static_pack() -> Option<RuleSet> {
        #[cfg(builtin_pack)]
        if let Some(pack) = &builtin::PACK {
            return Some(RuleSet {
                infos: std::borrow::Cow::Borrowed(pack.infos),
                compiled: std::borrow::Cow::Borrowed(pack.compiled),
                index: index::RuleIndex::from_required(pack.required),
                single_field: pack
                    .single_field
                    .iter()
                    .map(|&(node, path)| (compile::Ptr::addr(&compile::Ptr::Static(node)), path))
                    .collect(),
            });
        }
        None
    }

    /// Every rule, enabled or not, in file order.
    pub fn rules(&self) -> &[RuleInfo] {
        &self.infos
    }

    /// The enabled rules that match `ev`, in file order (only the first with
    /// [`RuleMatching::First`]).
    pub fn evaluate(&self, ev: &EventView<'_>, matching: RuleMatching) -> Vec<RuleMatch> {
        self.evaluate_in(Ctx::new(ev.event, ev.enrichment), matching)
    }

    /// As [`RuleSet::evaluate`], for one of a batch's events: the results of macros that
    /// read a single field are kept in `memo` for the batch's other events with the same
    /// text in that field. A memo last used with another rule set starts over.
    pub fn evaluate_in_batch(
        &self,
        ev: &EventView<'_>,
        matching: RuleMatching,
        memo: &BatchMemo,
    ) -> Vec<RuleMatch> {
        memo.bind(&self.single_field);
        let link = fields::BatchLink {
            memo,
            macros: &self.single_field,
        };
        self.evaluate_in(Ctx::in_batch(ev.event, ev.enrichment, link), matching)
    }

    fn evaluate_in(&self, ctx: Ctx<'_>, matching: RuleMatching) -> Vec<RuleMatch> {
        let ev = ctx.event;
        let mut out = Vec::new();
        for i in self.index.candidates(ev).iter() {
            let rule = &self.compiled[i];
            if !rule.node.eval(&ctx) {
                continue;
            }
            out.push(RuleMatch {
                rule: i,
                output: rule.output.render(&ctx),
            });
            if matching == RuleMatching::First {
                break;
            }
        }
        out
    }
}

/// Each rule's condition, `None` for a disabled rule (never evaluated).
fn conditions<'c>(
    infos: &[RuleInfo],
    compiled: &'c [load::Compiled],
) -> Vec<Option<&'c compile::Node>> {
    infos
        .iter()
        .zip(compiled)
        .map(|(info, c)| info.enabled.then_some(&c.node))
        .collect()
}

#[cfg(test)]
impl RuleSet {
    /// Every enabled rule evaluated, no index, each in a context of its own (no macro
    /// result carried from one rule to the next): what [`RuleSet::evaluate`] must equal.
    pub(crate) fn evaluate_every_rule(&self, ev: &EventView<'_>) -> Vec<RuleMatch> {
        (0..self.infos.len())
            .filter(|&i| {
                self.infos[i].enabled
                    && self.compiled[i]
                        .node
                        .eval(&Ctx::new(ev.event, ev.enrichment))
            })
            .map(|i| RuleMatch {
                rule: i,
                output: self.compiled[i]
                    .output
                    .render(&Ctx::new(ev.event, ev.enrichment)),
            })
            .collect()
    }
}

#[cfg(test)]
mod falco_compat_tests;
#[cfg(test)]
mod tests;
