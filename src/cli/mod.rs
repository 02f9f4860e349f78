//! The command-line tool: the same pipeline as the Lambda, with local sinks.

pub mod bench;
pub mod filter_test;
pub mod input;
pub mod pack;
pub mod rules;
pub mod scan;
pub mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "eks-audit-watch",
    version,
    about = "Watch Amazon EKS Kubernetes audit logs: decode, filter, enrich, redact, detect, archive, alert.",
    long_about = "Watch Amazon EKS Kubernetes audit logs.\n\nWith no subcommand inside AWS Lambda (AWS_LAMBDA_RUNTIME_API set) this binary is the Lambda function behind a CloudWatch Logs subscription. Otherwise it is this command-line tool, which runs the same pipeline over files with local sinks."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the pipeline over files: Lambda payloads, CloudWatch Logs JSON or NDJSON audit events (plain or gzip)
    Scan(scan::ScanArgs),
    /// Turn NDJSON audit events into a Lambda payload file for `cargo lambda invoke --data-file`
    Pack(pack::PackArgs),
    /// Show which events a CloudWatch Logs filter pattern keeps
    FilterTest(filter_test::FilterTestArgs),
    /// Measure throughput, stage times, memory, archive size and cold start on a generated corpus
    Bench(bench::BenchArgs),
    /// List, validate and test detection rules
    #[command(subcommand)]
    Rules(rules::RulesCommand),
}

/// Exit codes: 0 success, 1 failure, 2 unusable input or usage.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Scan(a) => scan::run(a),
        Command::Pack(a) => pack::run(a),
        Command::FilterTest(a) => filter_test::run(a),
        Command::Rules(c) => rules::run(c),
        Command::Bench(a) => bench::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("eks-audit-watch: {e:#}");
            ExitCode::from(2)
        }
    }
}
