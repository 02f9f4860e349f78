//! The built-in rule pack, compiled: static data `build.rs` writes with [`super::codegen`]
//! (`$OUT_DIR/builtin_pack.rs`). Borrowed by [`super::RuleSet::from_static_pack`].

// What the written items name; `PACK` may be `None` (the pack did not compile at build
// time), and then nothing else is written.
#[allow(unused_imports)]
use {
    super::RuleInfo,
    super::Text,
    super::ast::Op,
    super::compile::{CRhs, Check, Node, Ptr, TextSet},
    super::fields::{Arg, CList, CSub, Field, Kind},
    super::index::Required,
    super::load::Compiled,
    super::output::{Output, Part},
    crate::severity::Severity,
    std::borrow::Cow,
};

/// The parts of a [`super::RuleSet`] that are data.
pub(super) struct Pack {
    pub infos: &'static [RuleInfo],
    pub compiled: &'static [Compiled],
    /// What each rule requires of the indexed fields (`None` for a disabled rule).
    pub required: &'static [Option<Required<'static>>],
    /// The macros whose result depends on one plain field's text, with its path.
    pub single_field: &'static [(&'static Node, &'static [&'static str])],
}

include!(concat!(env!("OUT_DIR"), "/builtin_pack.rs"));
