//! `eks-audit-watch filter-test`: which events a CloudWatch Logs filter pattern keeps.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::input::{self, Batch, NdjsonOptions};
use crate::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use crate::pipeline::decode::{self, Decoded};
use crate::pipeline::event::AuditEvent;

#[derive(Args, Debug)]
pub struct FilterTestArgs {
    /// The filter pattern (default: the Lacework pattern the template uses)
    #[arg(long, short)]
    pub pattern: Option<String>,
    /// Files of events, in any form `scan` reads
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Print only the counts
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: FilterTestArgs) -> anyhow::Result<ExitCode> {
    let source = args.pattern.as_deref().unwrap_or(LACEWORK_PATTERN);
    let pattern = FilterPattern::parse(source).context("--pattern")?;
    let (mut kept, mut dropped, mut unparseable) = (0u64, 0u64, 0u64);
    for path in &args.paths {
        let input = input::load(
            path,
            input::DEFAULT_CLI_MAX_INFLATED,
            &NdjsonOptions::default(),
        )?;
        for batch in input.batches {
            let decoded = match batch {
                Batch::Payload { value, .. } => {
                    decode::decode_payload(&value, input::DEFAULT_CLI_MAX_INFLATED)
                        .map_err(|e| anyhow::anyhow!("{}:1: {e}", input.name))?
                }
                Batch::Decoded(d) => d,
            };
            let Decoded::Data(data) = decoded else {
                continue;
            };
            for log in &data.log_events {
                match AuditEvent::parse(&log.message) {
                    Ok(ev) => {
                        let keep = pattern.matches(&ev);
                        if keep {
                            kept += 1
                        } else {
                            dropped += 1
                        }
                        if !args.quiet {
                            println!(
                                "{}  {:<16} {:<6} {}  ({})",
                                if keep { "KEEP" } else { "DROP" },
                                ev.stage(),
                                ev.verb(),
                                ev.request_uri(),
                                ev.username()
                            );
                        }
                    }
                    Err(e) => {
                        unparseable += 1;
                        if !args.quiet {
                            println!("KEEP  (unparseable, archived raw: {e})");
                        }
                    }
                }
            }
        }
    }
    println!("kept {kept}, dropped {dropped}, unparseable (always kept) {unparseable}");
    Ok(ExitCode::SUCCESS)
}
