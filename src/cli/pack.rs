//! `eks-audit-watch pack`: NDJSON audit events → a Lambda payload file, exactly as a
//! CloudWatch Logs subscription would deliver them (padded base64 of gzip of JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::input::{self, Batch, NdjsonOptions};
use crate::pipeline::decode::{self, CONTROL_MESSAGE, Decoded, LogEvent, LogsData};

#[derive(Args, Debug)]
pub struct PackArgs {
    /// NDJSON audit events (`-` for standard input); not needed with --control-message
    pub input: Option<String>,
    /// Log group of the payload
    #[arg(long, default_value = "/aws/eks/prod-eu-1/cluster")]
    pub log_group: String,
    /// Log stream of the payload
    #[arg(long, default_value = "kube-apiserver-audit-8f3a1c2b9d4e5f60")]
    pub log_stream: String,
    /// Account id (the payload's `owner`)
    #[arg(long, default_value = "111122223333")]
    pub owner: String,
    /// Write CloudWatch's CONTROL_MESSAGE reachability probe instead of events
    #[arg(long)]
    pub control_message: bool,
    /// Output file (default: standard output)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: PackArgs) -> anyhow::Result<ExitCode> {
    let data = if args.control_message {
        LogsData {
            message_type: CONTROL_MESSAGE.into(),
            owner: "CloudwatchLogs".into(),
            log_group: String::new(),
            log_stream: String::new(),
            subscription_filters: Vec::new(),
            log_events: vec![LogEvent {
                id: String::new(),
                timestamp: 1_795_515_300_000,
                message: "CWL CONTROL MESSAGE: Checking health of destination Lambda function."
                    .into(),
            }],
        }
    } else {
        let path = args
            .input
            .as_deref()
            .context("an NDJSON input file is required (or --control-message)")?;
        let nd = NdjsonOptions {
            owner: args.owner.clone(),
            log_group: args.log_group.clone(),
            log_stream: Some(args.log_stream.clone()),
        };
        let (name, raw) = input::read_path(path, input::DEFAULT_CLI_MAX_INFLATED)?;
        // Pack takes events only: every line becomes a log event verbatim (a truncated
        // line stays truncated — that is what the fixture is for).
        let text = String::from_utf8(raw).map_err(|e| anyhow::anyhow!("{name}: not UTF-8: {e}"))?;
        let input = input::parse_input(&name, text.into_bytes(), &nd)?;
        let mut batches = input.batches.into_iter();
        match (batches.next(), batches.next()) {
            (Some(Batch::Decoded(Decoded::Data(d))), None) => d,
            (None, _) => anyhow::bail!("{name}:1: no events to pack"),
            (Some(Batch::Decoded(Decoded::Data(_))), Some(_)) => anyhow::bail!(
                "{name}: more than {} events; split the file (one payload is one batch)",
                input::NDJSON_BATCH_EVENTS
            ),
            _ => anyhow::bail!(
                "{name}:1: expected NDJSON audit events, found a payload or CloudWatch Logs JSON"
            ),
        }
    };
    let payload = decode::encode_payload(&data);
    let text = serde_json::to_string_pretty(&payload)? + "\n";
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("{}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
