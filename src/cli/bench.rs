//! `eks-audit-watch bench`: see `crate::bench`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::bench::{self, BenchOptions};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Events in the generated corpus
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Corpus seed (the same seed always gives the same corpus)
    #[arg(long, default_value_t = 20261124)]
    pub seed: u64,
    /// Threads for the all-cores run (default: every core)
    #[arg(long)]
    pub threads: Option<usize>,
    /// gzip level of the archive (and of the floor's deflate)
    #[arg(long, default_value_t = 6)]
    pub gzip_level: u32,
    /// Rounds of timing; each figure is the fastest round (machines vary second to second)
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Skip the cold-start measurement
    #[arg(long)]
    pub no_cold_start: bool,
    /// Skip the peak-memory probe
    #[arg(long)]
    pub no_memory: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
    /// (internal) process this payload file and print the peak RSS in MB
    #[arg(long, hide = true, value_name = "FILE")]
    pub rss_probe: Option<PathBuf>,
    /// (internal) how many times the RSS probe processes the payload
    #[arg(long, hide = true, default_value_t = 1)]
    pub repeat: usize,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.rss_probe {
        println!("{:.1}", bench::rss_probe_child(path, args.repeat)?);
        return Ok(ExitCode::SUCCESS);
    }
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let opts = BenchOptions {
        events: args.events,
        seed: args.seed,
        threads,
        gzip_level: args.gzip_level,
        cold_start: !args.no_cold_start,
        memory: !args.no_memory,
        rounds: args.rounds,
    };
    let tty = std::io::stderr().is_terminal();
    let report = bench::run(&opts, &|step| {
        if tty {
            eprintln!("bench: {step}…");
        }
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        if cfg!(debug_assertions) {
            println!("(debug build: figures are not representative; use `make bench`)");
        }
        print!("{}", bench::render(&report));
    }
    Ok(ExitCode::SUCCESS)
}
