//! The built-in EKS rule pack (`rules/*.yaml`), embedded in the binary three ways: the YAML
//! (the source of truth, for `rules` commands and diagnostics), the same as JSON (what the
//! loader reads when the pack is combined with an operator's own rules, ten times faster
//! than YAML), and compiled (static data `build.rs` writes by running the rules compiler over
//! the YAML, [`crate::rules::codegen`] — what a cold start with the built-in pack alone
//! uses where it lies, instead of compiling it again).
//!
//! This lives outside [`crate::rules`] because `build.rs` compiles that module itself, before
//! these build outputs exist (the compiled pack's module, `rules::builtin`, is left out of
//! the build script's copy by a cfg only the library is built with).

use crate::rules::{RuleSet, RuleSource, RulesError};

/// The built-in pack, loaded in this order: `eks.yaml` holds the shared lists and macros
/// the later files use. Each entry is (label, YAML text, the same parsed to JSON by
/// `build.rs`).
pub(crate) const BUILTIN_PACK: &[(&str, &str, &str)] = &[
    (
        "builtin:eks.yaml",
        include_str!("../rules/eks.yaml"),
        include_str!(concat!(env!("OUT_DIR"), "/eks.yaml.json")),
    ),
    (
        "builtin:eks-identity.yaml",
        include_str!("../rules/eks-identity.yaml"),
        include_str!(concat!(env!("OUT_DIR"), "/eks-identity.yaml.json")),
    ),
    (
        "builtin:eks-credentials-execution.yaml",
        include_str!("../rules/eks-credentials-execution.yaml"),
        include_str!(concat!(
            env!("OUT_DIR"),
            "/eks-credentials-execution.yaml.json"
        )),
    ),
    (
        "builtin:eks-workloads-exposure.yaml",
        include_str!("../rules/eks-workloads-exposure.yaml"),
        include_str!(concat!(
            env!("OUT_DIR"),
            "/eks-workloads-exposure.yaml.json"
        )),
    ),
];

impl RuleSet {
    /// The built-in EKS pack: as `build.rs` compiled it, or, when it did not compile there,
    /// compiled now (and reported, with every problem, if it still does not).
    pub fn builtin() -> RuleSet {
        match RuleSet::load_with_builtin(true, Vec::new()) {
            Ok((set, _)) => set,
            Err(e) => panic!("the built-in rule pack is broken:\n{e}"),
        }
    }

    /// The built-in pack (unless `builtin` is false) followed by `extra`, in order, compiled
    /// together: `extra` may use, append to or override the pack's lists, macros and rules.
    /// The built-in pack alone is the one `build.rs` compiled (without warnings: a test
    /// checks the pack has none, and `build.rs` shows any it meets).
    pub fn load_with_builtin(
        builtin: bool,
        extra: Vec<RuleSource>,
    ) -> Result<(RuleSet, Vec<String>), RulesError> {
        if builtin
            && extra.is_empty()
            && let Some(set) = RuleSet::from_static_pack()
        {
            return Ok((set, Vec::new()));
        }
        let (mut sources, prepared) = if builtin {
            let json: Vec<&str> = BUILTIN_PACK.iter().map(|(_, _, json)| *json).collect();
            (RuleSet::builtin_sources(), json)
        } else {
            (Vec::new(), Vec::new())
        };
        sources.extend(extra);
        RuleSet::load_prepared(&sources, &prepared)
    }

    /// The built-in pack's files as sources, in load order (their YAML).
    pub fn builtin_sources() -> Vec<RuleSource> {
        BUILTIN_PACK
            .iter()
            .map(|(name, text, _)| RuleSource {
                name: name.to_string(),
                text: text.to_string(),
            })
            .collect()
    }
}
