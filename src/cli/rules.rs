//! `eks-audit-watch rules list|validate|test`: for people who write and tune rules, and
//! for their CI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::table::Table;
use crate::pipeline::batch::BATCH_RULES;
use crate::pipeline::decode::LogEvent;
use crate::pipeline::enrich::{self, BatchContext};
use crate::pipeline::event::AuditEvent;
use crate::pipeline::ipintel::{CidrSet, IpIntel};
use crate::pipeline::redact;
use crate::rules::{EventView, RuleMatching, RuleSet, RuleSource};

/// Which rules to load: shared by `scan` and `rules`.
#[derive(Args, Debug, Clone)]
pub struct RuleArgs {
    /// A rules file (Falco format) loaded after the built-in pack; repeat for several, in order
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Do not load the built-in pack
    #[arg(long)]
    pub no_default_rules: bool,
    /// all: every matching rule fires; first: only the first in file order (Falco's default)
    #[arg(long, value_enum, default_value = "all")]
    pub rule_matching: Matching,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Matching {
    All,
    First,
}

impl From<Matching> for RuleMatching {
    fn from(m: Matching) -> Self {
        match m {
            Matching::All => RuleMatching::All,
            Matching::First => RuleMatching::First,
        }
    }
}

impl RuleArgs {
    pub fn load(&self) -> anyhow::Result<RuleSet> {
        let mut sources = Vec::new();
        for path in &self.rules {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read", path.display()))?;
            sources.push(RuleSource {
                name: path.display().to_string(),
                text,
            });
        }
        let (set, warnings) = RuleSet::load_with_builtin(!self.no_default_rules, sources)
            .map_err(|e| anyhow::anyhow!("rules failed to load:\n{e}"))?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok(set)
    }
}

#[derive(Subcommand, Debug)]
pub enum RulesCommand {
    /// List the loaded rules: id, name, severity, tags, source file
    List {
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON lines instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Check rule files: every error with file, line, column and rule name
    Validate {
        /// Rule files, loaded in order after the built-in pack
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Validate the files alone, without the built-in pack
        #[arg(long)]
        no_default_rules: bool,
    },
    /// Run fixtures: DIR/<rule id>/positive*.json must fire the rule, negative*.json must not
    Test {
        dir: PathBuf,
        #[command(flatten)]
        rules: RuleArgs,
    },
}

pub fn run(cmd: RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::List { rules, json } => list(&rules.load()?, json),
        RulesCommand::Validate {
            files,
            no_default_rules,
        } => validate(&files, no_default_rules),
        RulesCommand::Test { dir, rules } => test(&dir, &rules.load()?, rules.rule_matching.into()),
    }
}

fn list(set: &RuleSet, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        for r in set.rules() {
            println!(
                "{}",
                serde_json::json!({"id": r.id, "name": r.name, "severity": r.severity, "tags": r.tags,
                    "source": r.source, "enabled": r.enabled})
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new(&["id", "name", "severity", "tags", "source"]);
    for r in set.rules() {
        let name = if r.enabled {
            r.name.to_string()
        } else {
            format!("{} (disabled)", r.name)
        };
        t.row(vec![
            r.id.to_string(),
            name,
            r.severity.to_string(),
            r.tags.join(","),
            r.source.to_string(),
        ]);
    }
    for b in &BATCH_RULES {
        t.row(vec![
            b.id.to_string(),
            b.name.to_string(),
            b.severity.to_string(),
            b.tags.join(","),
            "built-in (within-batch, BATCH_THRESHOLDS)".into(),
        ]);
    }
    print!("{}", t.render());
    Ok(ExitCode::SUCCESS)
}

fn validate(files: &[PathBuf], no_default_rules: bool) -> anyhow::Result<ExitCode> {
    let mut sources = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        sources.push(RuleSource {
            name: path.display().to_string(),
            text,
        });
    }
    match RuleSet::load_with_builtin(!no_default_rules, sources) {
        Ok((set, warnings)) => {
            for w in &warnings {
                println!("warning: {w}");
            }
            let from_files = set
                .rules()
                .iter()
                .filter(|r| files.iter().any(|f| f.display().to_string() == r.source))
                .count();
            println!(
                "ok: {} file(s), {from_files} rule(s) defined there, {} rule(s) in all",
                files.len(),
                set.rules().len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// One fixture: an audit event, or `{"event": …, "enrichment": …}`. Without an enrichment
/// the pipeline's own enrichment is computed, as it would be in production.
fn fixture_view(path: &Path, intel: &IpIntel) -> anyhow::Result<(Value, Value)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let (event, given) = match doc.get("event") {
        Some(e) => (e.clone(), doc.get("enrichment").cloned()),
        None => (doc, None),
    };
    let mut event = event;
    redact::redact_event(&mut event);
    let enrichment = match given {
        Some(e) => e,
        None => {
            let audit = AuditEvent::parse_owned(event.to_string())
                .with_context(|| format!("{}: not an audit event", path.display()))?;
            let ctx = BatchContext {
                cluster: "test-cluster".into(),
                ..Default::default()
            };
            let log = LogEvent::default();
            let en = enrich::enrich(&audit, &ctx, &log, intel);
            serde_json::to_value(en)?
        }
    };
    Ok((event, enrichment))
}

fn test(dir: &Path, set: &RuleSet, matching: RuleMatching) -> anyhow::Result<ExitCode> {
    // Parsed once: fixtures without an `enrichment` get the pipeline's own.
    let intel = IpIntel::embedded(CidrSet::default());
    let mut rule_dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read directory", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    rule_dirs.sort();
    let mut t = Table::new(&["rule", "positives", "negatives", "result"]);
    let mut failures = Vec::new();
    let mut failed_rules = 0usize;
    for rd in &rule_dirs {
        let id = rd
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !set.rules().iter().any(|r| r.id == id || r.name == id) {
            failures.push(format!("{id}: no loaded rule has this id"));
            failed_rules += 1;
            t.row(vec![
                id,
                "-".into(),
                "-".into(),
                "FAIL (unknown rule)".into(),
            ]);
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(rd)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let (mut pos, mut neg, mut ok) = (0, 0, true);
        for f in files {
            let name = f
                .file_name()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let positive = name.starts_with("positive");
            if !positive && !name.starts_with("negative") {
                continue;
            }
            let (event, enrichment) = fixture_view(&f, &intel)?;
            let fired = set
                .evaluate(
                    &EventView {
                        event: &event,
                        enrichment: Some(&enrichment),
                    },
                    matching,
                )
                .iter()
                .any(|m| set.rules()[m.rule].id == id || set.rules()[m.rule].name == id);
            if positive {
                pos += 1;
            } else {
                neg += 1;
            }
            if fired != positive {
                ok = false;
                failures.push(format!(
                    "{}: expected {id} {}",
                    f.display(),
                    if positive {
                        "to fire, it did not"
                    } else {
                        "not to fire, it did"
                    }
                ));
            }
        }
        if pos == 0 || neg == 0 {
            ok = false;
            failures.push(format!(
                "{id}: needs at least one positive and one negative fixture"
            ));
        }
        if !ok {
            failed_rules += 1;
        }
        t.row(vec![
            id,
            pos.to_string(),
            neg.to_string(),
            if ok { "pass".into() } else { "FAIL".into() },
        ]);
    }
    print!("{}", t.render());
    for f in &failures {
        println!("FAIL {f}");
    }
    println!(
        "rules: {} passed, {failed_rules} failed",
        rule_dirs.len() - failed_rules
    );
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
