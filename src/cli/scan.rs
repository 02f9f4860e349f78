//! `eks-audit-watch scan`: the pipeline over files, with local sinks.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::input::{self, Batch, DEFAULT_CLI_MAX_INFLATED, NdjsonOptions};
use super::table::Table;
use crate::alert::DEFAULT_SAMPLE_EVENTS;
use crate::archive::ArchiveCodec;
use crate::deliver::{DeliveryOptions, deliver};
use crate::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use crate::pipeline::detect::Finding;
use crate::pipeline::ipintel::CidrSet;
use crate::pipeline::{Counters, Pipeline, PipelineOptions};
use crate::severity::Severity;
use crate::sinks::fs::DirArchive;
use crate::sinks::memory::{DiscardArchive, MemoryAlerts};
use crate::sinks::{ArchiveSink, SinkError};

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// A readable report and a summary table
    Text,
    /// One finding per (rule, event) per line
    Json,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files to scan (`-` for standard input)
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Write archive (and quarantine) objects here, with the same keys as in S3
    #[arg(long, value_name = "DIR")]
    pub archive_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Report findings at or above this severity (info, low, medium, high, critical)
    #[arg(long, value_name = "LEVEL", default_value = "low", value_parser = parse_severity)]
    pub min_severity: Severity,
    /// Write the counters as JSON to this file
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// CloudWatch Logs filter pattern (default: the Lacework pattern the template uses)
    #[arg(long, value_name = "PATTERN")]
    pub filter_pattern: Option<String>,
    /// Cluster name for NDJSON input and non-EKS log groups
    #[arg(long)]
    pub cluster: Option<String>,
    /// Print the SNS alerts the Lambda would send (at --min-severity or above)
    #[arg(long)]
    pub alerts: bool,
    #[command(flatten)]
    pub rule_args: super::rules::RuleArgs,
    /// Within-batch thresholds, e.g. forbidden=10,discovery=8,secret-reads=10,anonymous=5 (0 = off)
    #[arg(long, value_name = "LIST", default_value = "")]
    pub batch_thresholds: String,
    /// Trusted egress CIDRs (comma-separated) for the public-IP rules
    #[arg(long, value_name = "CIDRS", default_value = "")]
    pub trusted_cidrs: String,
    /// Compression of the archive objects written to --archive-dir: gzip or zstd
    #[arg(long, value_name = "CODEC", default_value = "gzip", value_parser = ["gzip", "zstd"])]
    pub archive_codec: String,
    /// Bound on a gzip input's inflated size, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_CLI_MAX_INFLATED)]
    pub max_inflated_bytes: u64,
    /// Files scanned at once (default: one per core); the output is the same for any value
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
}

pub fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("expected info, low, medium, high or critical, got {s:?}"))
}

/// The CLI's archive: a directory, or nowhere.
enum LocalArchive {
    Dir(DirArchive),
    Discard(DiscardArchive),
}

impl ArchiveSink for LocalArchive {
    async fn put_object(
        &self,
        key: &str,
        body: Vec<u8>,
        ct: &'static str,
    ) -> Result<(), SinkError> {
        match self {
            LocalArchive::Dir(d) => d.put_object(key, body, ct).await,
            LocalArchive::Discard(d) => d.put_object(key, body, ct).await,
        }
    }

    fn location(&self, key: &str) -> String {
        match self {
            LocalArchive::Dir(d) => d.location(key),
            LocalArchive::Discard(d) => d.location(key),
        }
    }
}

struct Report {
    counters: Counters,
    findings: Vec<(String, Finding)>,
    errors: Vec<String>,
    files: usize,
    bytes: u64,
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let pattern = args.filter_pattern.as_deref().unwrap_or(LACEWORK_PATTERN);
    let filter = FilterPattern::parse(pattern).context("--filter-pattern")?;
    let options = PipelineOptions {
        default_cluster: args.cluster.clone(),
        rule_matching: args.rule_args.rule_matching.into(),
        batch_thresholds: args
            .batch_thresholds
            .parse()
            .map_err(|e| anyhow::anyhow!("--batch-thresholds: {e}"))?,
        trusted_cidrs: CidrSet::parse_list(&args.trusted_cidrs.replace(',', "\n"))
            .map_err(|e| anyhow::anyhow!("--trusted-cidrs: {e}"))?,
        archive_codec: ArchiveCodec::parse(&args.archive_codec)
            .ok_or_else(|| anyhow::anyhow!("--archive-codec: expected gzip or zstd"))?,
        ..PipelineOptions::default()
    };
    let pipeline = Pipeline::new(filter, args.rule_args.load()?, options);
    let nd = NdjsonOptions {
        log_group: format!(
            "/aws/eks/{}/cluster",
            args.cluster.as_deref().unwrap_or("unknown")
        ),
        ..NdjsonOptions::default()
    };
    let archive = match &args.archive_dir {
        Some(dir) => LocalArchive::Dir(DirArchive::new(dir)),
        None => LocalArchive::Discard(DiscardArchive::default()),
    };
    let delivery = DeliveryOptions {
        min_alert_severity: args.min_severity,
        sample_events: DEFAULT_SAMPLE_EVENTS,
    };

    let total_bytes: u64 = args
        .paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let progress = if std::io::stderr().is_terminal() && args.format == Format::Text {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };

    // Files go to the workers from one queue (a big file does not hold up a fixed share of
    // the others); results are merged in the order the files were given, so the report,
    // the JSON lines and the alerts are the same for any number of jobs.
    let jobs = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .clamp(1, args.paths.len().max(1));
    let scan = FileScan {
        pipeline: &pipeline,
        nd: &nd,
        archive: &archive,
        delivery: &delivery,
        args: &args,
        progress: &progress,
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, anyhow::Result<FileOutcome>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..jobs)
            .map(|_| {
                s.spawn(|| {
                    let rt = tokio::runtime::Builder::new_current_thread().build();
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(path) = args.paths.get(i) else {
                            break;
                        };
                        let result = match &rt {
                            Ok(rt) => scan.file(path, rt),
                            Err(e) => Err(anyhow::anyhow!("cannot start a runtime: {e}")),
                        };
                        done.push((i, result));
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a scan worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);

    let mut report = Report {
        counters: Counters::default(),
        findings: Vec::new(),
        errors: Vec::new(),
        files: 0,
        bytes: 0,
    };
    let mut alerts = Vec::new();
    for (_, result) in results {
        let file = result?;
        if file.loaded {
            report.files += 1;
        }
        report.bytes += file.bytes;
        report.counters.add(&file.counters);
        report.findings.extend(file.findings);
        report.errors.extend(file.errors);
        alerts.extend(file.alerts);
    }
    progress.finish_and_clear();

    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => {
            for (file, f) in &report.findings {
                let mut v = serde_json::to_value(f)?;
                v["file"] = serde_json::Value::String(file.clone());
                writeln!(out, "{v}")?;
            }
        }
        Format::Text => write!(out, "{}", text_report(&report, &args))?,
    }
    if args.alerts {
        for a in &alerts {
            writeln!(
                out,
                "\n===== SNS alert =====\nSubject: {}\nAttributes: severity={} rule_id={} cluster={}\n\n{}",
                a.subject, a.severity, a.rule_id, a.cluster, a.body
            )?;
        }
    }
    if let Some(path) = &args.stats {
        let stats = serde_json::json!({
            "files": report.files,
            "inputBytes": report.bytes,
            "counters": report.counters,
            "findingsByRule": by_rule(&report.findings).into_iter()
                .map(|((id, _, _), n)| (id, n)).collect::<BTreeMap<_, _>>(),
            "errors": report.errors,
        });
        std::fs::write(path, serde_json::to_string_pretty(&stats)? + "\n")
            .with_context(|| format!("--stats {}", path.display()))?;
    }
    for e in &report.errors {
        eprintln!("eks-audit-watch: {e}");
    }
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// What scanning one file gave.
struct FileOutcome {
    loaded: bool,
    bytes: u64,
    counters: Counters,
    findings: Vec<(String, Finding)>,
    errors: Vec<String>,
    alerts: Vec<crate::alert::AlertMessage>,
}

/// Everything a worker needs to scan a file, shared by all workers.
struct FileScan<'a> {
    pipeline: &'a Pipeline,
    nd: &'a NdjsonOptions,
    archive: &'a LocalArchive,
    delivery: &'a DeliveryOptions,
    args: &'a ScanArgs,
    progress: &'a indicatif::ProgressBar,
}

impl FileScan<'_> {
    /// Loads, runs and delivers one file. `Err` only when the archive cannot be written.
    fn file(&self, path: &str, rt: &tokio::runtime::Runtime) -> anyhow::Result<FileOutcome> {
        self.progress.set_message(path.to_string());
        let file_len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut out = FileOutcome {
            loaded: false,
            bytes: 0,
            counters: Counters::default(),
            findings: Vec::new(),
            errors: Vec::new(),
            alerts: Vec::new(),
        };
        let input = match input::load(path, self.args.max_inflated_bytes, self.nd) {
            Ok(i) => i,
            Err(e) => {
                out.errors.push(e.to_string());
                self.progress.inc(file_len);
                return Ok(out);
            }
        };
        out.loaded = true;
        out.bytes = input.bytes;
        for w in &input.warnings {
            self.progress.suspend(|| eprintln!("warning: {w}"));
        }
        let alerts = MemoryAlerts::default();
        for batch in input.batches {
            let mut outcome = match batch {
                Batch::Payload { value, raw } => {
                    self.pipeline.process_payload(&value, &raw, now_ms())
                }
                Batch::Decoded(d) => self.pipeline.process_decoded(d),
            };
            if let Some(q) = &outcome.quarantine {
                out.errors.push(format!(
                    "{}:1: payload cannot be decoded: {}",
                    input.name, q.reason
                ));
            }
            rt.block_on(deliver(&mut outcome, self.archive, &alerts, self.delivery))
                .with_context(|| format!("{}: writing the archive", input.name))?;
            out.counters.add(&outcome.counters);
            out.findings.extend(
                outcome
                    .findings
                    .into_iter()
                    .filter(|f| f.severity >= self.args.min_severity)
                    .map(|f| (input.name.clone(), f)),
            );
        }
        out.alerts = alerts.sent.into_inner().expect("not poisoned");
        self.progress.inc(file_len);
        Ok(out)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn by_rule(findings: &[(String, Finding)]) -> BTreeMap<(String, String, Severity), u64> {
    let mut m = BTreeMap::new();
    for (_, f) in findings {
        *m.entry((f.rule_id.clone(), f.rule.clone(), f.severity))
            .or_default() += 1;
    }
    m
}

fn text_report(r: &Report, args: &ScanArgs) -> String {
    let mut s = String::new();
    let mut sorted: Vec<&(String, Finding)> = r.findings.iter().collect();
    sorted.sort_by(|a, b| {
        b.1.severity
            .cmp(&a.1.severity)
            .then(a.1.time.cmp(&b.1.time))
    });
    for (file, f) in sorted {
        let who = f.arn.as_deref().unwrap_or(&f.user);
        let object = [f.namespace.as_str(), f.name.as_str()]
            .iter()
            .filter(|x| !x.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("/");
        s.push_str(&format!(
            "{:<8} {} {}  [{}]\n  when  {}  cluster {}\n  who   {} ({}) from {} ({})\n  what  {} {} {}\n",
            f.severity.as_str().to_ascii_uppercase(),
            f.rule_id,
            f.rule,
            file,
            f.time,
            f.cluster,
            who,
            f.identity_kind,
            if f.source_ip.is_empty() { "-" } else { &f.source_ip },
            f.source_ip_class,
            f.verb,
            f.resource,
            object,
        ));
        if let Some(cmd) = &f.exec_command {
            s.push_str(&format!("  cmd   {cmd}\n"));
        }
        s.push_str(&format!("  rule  {}\n\n", f.output));
    }
    let c = &r.counters;
    let mut t = Table::new(&["", "count"]).align_right(1);
    let rows: [(&str, u64); 11] = [
        ("files", r.files as u64),
        ("payloads", c.payloads),
        ("control messages", c.control_messages),
        ("quarantined payloads", c.quarantined_payloads),
        ("events received", c.received),
        ("kept (archived)", c.kept),
        ("filtered by pattern", c.filtered),
        ("duplicates", c.duplicates),
        ("unparseable (archived raw)", c.unparseable),
        ("values redacted", c.redacted_values),
        ("archive objects", c.archive_objects),
    ];
    for (k, v) in rows {
        t.row(vec![k.to_string(), v.to_string()]);
    }
    for sev in Severity::ALL.iter().rev() {
        let n = c.findings.get(sev).copied().unwrap_or(0);
        t.row(vec![format!("findings: {sev}"), n.to_string()]);
    }
    s.push_str("Summary\n");
    s.push_str(&t.render());
    let rules = by_rule(&r.findings);
    if !rules.is_empty() {
        let mut t = Table::new(&["rule", "severity", "name", "findings"]).align_right(3);
        let mut rows: Vec<_> = rules.into_iter().collect();
        rows.sort_by(|a, b| b.0.2.cmp(&a.0.2).then(a.0.0.cmp(&b.0.0)));
        for ((id, name, sev), n) in rows {
            t.row(vec![id, sev.to_string(), name, n.to_string()]);
        }
        s.push_str(&format!(
            "\nFindings at {} or above by rule\n",
            args.min_severity
        ));
        s.push_str(&t.render());
    } else {
        s.push_str(&format!(
            "\nNo findings at {} or above.\n",
            args.min_severity
        ));
    }
    if let Some(dir) = &args.archive_dir {
        s.push_str(&format!("\nArchive written under {}\n", dir.display()));
    }
    s
}
