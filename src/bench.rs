//! `eks-audit-watch bench`: throughput, per-stage time, memory, archive size and cold start
//! on a generated corpus, against the codec floor measured in the same run.
//!
//! The floor is what the compression codecs alone need for the same bytes: gunzip of every
//! input payload plus gzip (same level) of every archive's NDJSON. The pipeline can never
//! be faster than that; the ratio says how much detection, enrichment and the rest add.
//!
//! Shared and virtual machines change speed from one second to the next, so the pipeline and
//! its floor are timed in alternation, `rounds` times, and each figure is the fastest round.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

pub mod function_memory;
use serde_json::Value;

use crate::archive::ArchiveCodec;
use crate::corpus::{Corpus, CorpusSpec};
use crate::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use crate::pipeline::decode::{self, DATA_MESSAGE, LogEvent, LogsData};
use crate::pipeline::{Pipeline, PipelineOptions, Stage, Stopwatch};
use crate::rules::RuleSet;

/// Lambda's asynchronous invocation payload limit (1 MB since October 2025), which bounds a
/// subscription batch: the whole `{"awslogs":{"data":"…"}}` document, base64 and all — so
/// at most ~768 KB of gzip.
pub const MAX_INVOKE_PAYLOAD: usize = 1 << 20;
/// Batch sizes cycled through, from a quiet stream to batches that reach the limit.
const BATCH_SIZES: [usize; 6] = [10, 60, 300, 1500, 5000, 10_000];

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub events: usize,
    pub seed: u64,
    pub threads: usize,
    pub gzip_level: u32,
    pub cold_start: bool,
    pub memory: bool,
    /// Rounds of (pipeline, floor, zstd pipeline, zstd floor); each figure is the best round.
    pub rounds: usize,
}

/// One generated subscription payload.
pub struct Payload {
    pub value: Value,
    pub events: usize,
    /// Bytes of the inflated CloudWatch Logs JSON.
    pub raw_bytes: usize,
    /// Bytes of the gzip stream inside `awslogs.data`.
    pub compressed: Vec<u8>,
}

/// Cuts the corpus into subscription payloads of varied size, each within Lambda's 1 MB
/// asynchronous payload limit.
pub fn build_payloads(events: usize, seed: u64) -> Vec<Payload> {
    let spec = CorpusSpec {
        seed,
        attacks: true,
        ..CorpusSpec::default()
    };
    let mut corpus = Corpus::new(spec);
    let mut out = Vec::new();
    let mut left = events;
    let mut i = 0usize;
    while left > 0 {
        let n = BATCH_SIZES[i % BATCH_SIZES.len()].min(left);
        left -= n;
        i += 1;
        let batch: Vec<LogEvent> = corpus
            .by_ref()
            .take(n)
            .enumerate()
            .map(|(j, e)| LogEvent {
                id: crate::cli::input::synthetic_event_id(e.timestamp_ms, i * 100_000 + j),
                timestamp: e.timestamp_ms,
                message: e.message,
            })
            .collect();
        let mut pending = vec![batch];
        while let Some(b) = pending.pop() {
            let data = LogsData {
                message_type: DATA_MESSAGE.into(),
                owner: "111122223333".into(),
                log_group: "/aws/eks/bench-cluster/cluster".into(),
                log_stream: "kube-apiserver-audit-0123456789abcdef".into(),
                subscription_filters: vec!["eks-audit-watch".into()],
                log_events: b,
            };
            let json = serde_json::to_vec(&data).expect("json");
            let compressed = gzip(&json, 6);
            if invoke_payload_len(compressed.len()) > MAX_INVOKE_PAYLOAD
                && data.log_events.len() > 1
            {
                // Too big for one delivery: CloudWatch would have sent two batches.
                let mut events = data.log_events;
                let tail = events.split_off(events.len() / 2);
                pending.push(tail);
                pending.push(events);
                continue;
            }
            out.push(Payload {
                value: decode::encode_payload(&data),
                events: data.log_events.len(),
                raw_bytes: json.len(),
                compressed,
            });
        }
    }
    out
}

/// Bytes of `{"awslogs":{"data":"<padded base64>"}}` around `gzip_len` bytes of gzip.
fn invoke_payload_len(gzip_len: usize) -> usize {
    r#"{"awslogs":{"data":""}}"#.len() + gzip_len.div_ceil(3) * 4
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    gz.write_all(bytes).expect("in-memory");
    gz.finish().expect("in-memory")
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct StageTime {
    pub stage: &'static str,
    pub seconds: f64,
    pub share: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BenchReport {
    pub events: u64,
    pub payloads: usize,
    pub largest_payload_events: usize,
    pub input_raw_bytes: u64,
    pub input_compressed_bytes: u64,
    pub single_thread_seconds: f64,
    pub single_thread_events_per_sec: f64,
    pub single_thread_mb_per_sec: f64,
    pub threads: usize,
    pub multi_thread_seconds: f64,
    pub multi_thread_events_per_sec: f64,
    pub multi_thread_mb_per_sec: f64,
    pub scaling: f64,
    /// `eks-audit-watch scan` itself over the payloads written out as files (archive to a
    /// temporary directory, findings to nowhere), with `--jobs 1` and `--jobs <threads>`:
    /// file reading, JSON parsing, archive writing and the merge included.
    pub scan_files: usize,
    pub scan_seconds_one_job: Option<f64>,
    pub scan_seconds_all_jobs: Option<f64>,
    pub scan_scaling: Option<f64>,
    pub stages: Vec<StageTime>,
    pub floor_inflate_seconds: f64,
    pub floor_deflate_seconds: f64,
    pub floor_seconds: f64,
    pub floor_ratio: f64,
    /// The same single-threaded run with `ARCHIVE_CODEC=zstd` (level 3), and its own floor:
    /// inflate of the input plus zstd of the archive NDJSON.
    pub zstd_seconds: f64,
    pub zstd_floor_seconds: f64,
    pub zstd_floor_ratio: f64,
    pub zstd_archive_bytes: u64,
    pub archive_ndjson_bytes: u64,
    pub archive_bytes: u64,
    pub archive_vs_input_raw: f64,
    /// `gzip -6` of the same NDJSON, when a `gzip` program is on PATH.
    pub gzip6_bytes: Option<u64>,
    pub archive_vs_gzip6: Option<f64>,
    pub kept: u64,
    pub findings: u64,
    /// The pipeline alone (`bench --rss-probe`): the payload processed in a fresh process.
    pub peak_rss_mb_one_max_payload: Option<f64>,
    pub peak_rss_mb_after_50_payloads: Option<f64>,
    /// The Lambda function itself ([`function_memory`]): this binary in Lambda mode, the
    /// payload delivered by a local Runtime API, S3 and SNS served by moto.
    pub function_peak_rss_mb_one_max_payload: Option<f64>,
    pub function_peak_rss_mb_after_50_payloads: Option<f64>,
    /// Why the function's memory was not measured, when it was asked for and was not.
    pub function_memory_error: Option<String>,
    pub cold_start_ms: Option<f64>,
    pub cold_start_hello_ms: Option<f64>,
    /// The bare function plus the SDK set up as ours is (`examples/sdk_lambda.rs`).
    pub cold_start_sdk_ms: Option<f64>,
    pub cold_start_ratio: Option<f64>,
    /// Where each cold start's time goes, read from `/proc` when the process asks for
    /// `/next` (Linux only): CPU time it used, and the page faults it took to get there.
    pub cold_start_cpu_ms: Option<f64>,
    pub cold_start_hello_cpu_ms: Option<f64>,
    pub cold_start_sdk_cpu_ms: Option<f64>,
    pub cold_start_page_faults: Option<u64>,
    pub cold_start_hello_page_faults: Option<u64>,
    pub cold_start_sdk_page_faults: Option<u64>,
}

/// A function's start, up to its first `/next` (one start, or the medians over the rounds).
#[derive(Debug, Clone, Copy, PartialEq)]
struct StartToNext {
    ms: f64,
    /// CPU time, user and system (`/proc/<pid>/schedstat`).
    cpu_ms: Option<f64>,
    /// Minor page faults (`/proc/<pid>/stat`); a start takes no major ones once the binary
    /// is in the page cache.
    page_faults: Option<u64>,
}

fn pipeline(codec: ArchiveCodec, gzip_level: u32) -> Pipeline {
    Pipeline::new(
        FilterPattern::parse(LACEWORK_PATTERN).expect("default pattern"),
        RuleSet::builtin(),
        PipelineOptions {
            archive_codec: codec,
            gzip_level,
            ..PipelineOptions::default()
        },
    )
}

pub fn run(opts: &BenchOptions, progress: &dyn Fn(&str)) -> BenchReport {
    progress("generating the corpus");
    let payloads = build_payloads(opts.events, opts.seed);
    let p = pipeline(ArchiveCodec::Gzip, opts.gzip_level);
    let events: u64 = payloads.iter().map(|p| p.events as u64).sum();
    let raw: u64 = payloads.iter().map(|p| p.raw_bytes as u64).sum();
    let compressed: u64 = payloads.iter().map(|p| p.compressed.len() as u64).sum();

    // Warm-up: page in the code and the allocator's arenas.
    for pl in payloads.iter().take(3) {
        let _ = p.process_payload(&pl.value, &[], 0);
    }

    // Stage breakdown (and the archives for the floor), with the stopwatch on.
    progress("stage times");
    let mut sw = Stopwatch::on();
    let mut archives: Vec<Vec<u8>> = Vec::with_capacity(payloads.len());
    let (mut kept, mut findings) = (0u64, 0u64);
    for pl in &payloads {
        let out = p.process_payload_timed(&pl.value, &[], 0, &mut sw);
        kept += out.counters.kept;
        findings += out.findings.len() as u64;
        if let Some(a) = out.archive {
            archives.push(a.body);
        }
    }
    let ndjson: Vec<Vec<u8>> = archives.iter().map(|a| gunzip(a)).collect();
    let pz = pipeline(ArchiveCodec::Zstd, opts.gzip_level);
    let zstd_level = PipelineOptions::default().zstd_level;
    let mut zstd_archive_bytes = 0u64;

    let timed = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed()
    };
    let (mut single, mut floor_inflate, mut floor_deflate) =
        (Duration::MAX, Duration::MAX, Duration::MAX);
    let (mut zstd_run, mut zstd_deflate) = (Duration::MAX, Duration::MAX);
    let threads = opts.threads.max(1);
    let mut multi = Duration::MAX;
    for round in 0..opts.rounds.max(1) {
        progress(&format!(
            "round {} of {}: all cores",
            round + 1,
            opts.rounds.max(1)
        ));
        // As `scan` does: workers take the next payload from one queue.
        multi = multi.min(timed(&mut || {
            let next = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads {
                    let (p, payloads, next) = (&p, &payloads, &next);
                    s.spawn(move || {
                        while let Some(pl) =
                            payloads.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                        {
                            std::hint::black_box(p.process_payload(&pl.value, &[], 0));
                        }
                    });
                }
            });
        }));
        progress(&format!(
            "round {} of {}: pipeline and codec floor",
            round + 1,
            opts.rounds.max(1)
        ));
        single = single.min(timed(&mut || {
            for pl in &payloads {
                std::hint::black_box(p.process_payload(&pl.value, &[], 0));
            }
        }));
        floor_inflate = floor_inflate.min(timed(&mut || {
            for pl in &payloads {
                std::hint::black_box(gunzip(&pl.compressed));
            }
        }));
        floor_deflate = floor_deflate.min(timed(&mut || {
            for n in &ndjson {
                std::hint::black_box(gzip(n, opts.gzip_level));
            }
        }));
        zstd_archive_bytes = 0;
        zstd_run = zstd_run.min(timed(&mut || {
            for pl in &payloads {
                let out = pz.process_payload(&pl.value, &[], 0);
                zstd_archive_bytes += out.archive.map(|a| a.body.len() as u64).unwrap_or(0);
            }
        }));
        zstd_deflate = zstd_deflate.min(timed(&mut || {
            for n in &ndjson {
                std::hint::black_box(zstd::encode_all(&n[..], zstd_level).expect("in-memory zstd"));
            }
        }));
    }
    let floor = floor_inflate + floor_deflate;
    let zstd_floor = floor_inflate + zstd_deflate;
    progress("scan over the payloads as files");
    let scan = scan_timings(&payloads, threads, opts.rounds.max(1));

    let archive_ndjson_bytes: u64 = ndjson.iter().map(|n| n.len() as u64).sum();
    let archive_bytes: u64 = archives.iter().map(|a| a.len() as u64).sum();
    progress("gzip -6 comparison");
    let gzip6 = gzip6_size(&ndjson);

    let stage_total: f64 = Stage::ALL.iter().map(|s| sw.total(*s).as_secs_f64()).sum();
    let stages = Stage::ALL
        .iter()
        .map(|s| StageTime {
            stage: s.name(),
            seconds: sw.total(*s).as_secs_f64(),
            share: if stage_total > 0.0 {
                sw.total(*s).as_secs_f64() / stage_total
            } else {
                0.0
            },
        })
        .collect();

    let largest = payloads.iter().max_by_key(|p| p.compressed.len());
    let (rss_one, rss_many) = if opts.memory {
        progress("peak memory");
        largest.map(|l| rss_probe(&l.value)).unwrap_or((None, None))
    } else {
        (None, None)
    };
    let function_memory = match (opts.memory, largest, std::env::current_exe()) {
        (false, _, _) | (_, None, _) => None,
        (true, Some(_), Err(e)) => Some(Err(e.to_string())),
        (true, Some(l), Ok(exe)) => {
            progress("peak memory of the Lambda function (moto)");
            let body = l.value.to_string();
            Some(function_memory::probe(&exe, body.as_bytes(), 50).map_err(|e| e.to_string()))
        }
    };
    let function_rss = |f: fn(&function_memory::FunctionMemory) -> f64| {
        function_memory
            .as_ref()
            .and_then(|m| m.as_ref().ok())
            .map(f)
    };
    let [cold, hello, sdk] = if opts.cold_start {
        progress("cold start");
        cold_starts()
    } else {
        [None; 3]
    };

    let secs = |d: Duration| d.as_secs_f64();
    let mb = raw as f64 / 1_000_000.0;
    BenchReport {
        events,
        payloads: payloads.len(),
        largest_payload_events: largest.map(|l| l.events).unwrap_or(0),
        input_raw_bytes: raw,
        input_compressed_bytes: compressed,
        single_thread_seconds: secs(single),
        single_thread_events_per_sec: events as f64 / secs(single),
        single_thread_mb_per_sec: mb / secs(single),
        threads,
        multi_thread_seconds: secs(multi),
        multi_thread_events_per_sec: events as f64 / secs(multi),
        multi_thread_mb_per_sec: mb / secs(multi),
        scaling: secs(single) / secs(multi),
        scan_files: payloads.len(),
        scan_seconds_one_job: scan.map(|(one, _)| secs(one)),
        scan_seconds_all_jobs: scan.map(|(_, all)| secs(all)),
        scan_scaling: scan.map(|(one, all)| secs(one) / secs(all)),
        stages,
        floor_inflate_seconds: secs(floor_inflate),
        floor_deflate_seconds: secs(floor_deflate),
        floor_seconds: secs(floor),
        floor_ratio: secs(single) / secs(floor),
        zstd_seconds: secs(zstd_run),
        zstd_floor_seconds: secs(zstd_floor),
        zstd_floor_ratio: secs(zstd_run) / secs(zstd_floor),
        zstd_archive_bytes,
        archive_ndjson_bytes,
        archive_bytes,
        archive_vs_input_raw: archive_bytes as f64 / raw as f64,
        gzip6_bytes: gzip6,
        archive_vs_gzip6: gzip6.map(|g| archive_bytes as f64 / g as f64),
        kept,
        findings,
        peak_rss_mb_one_max_payload: rss_one,
        peak_rss_mb_after_50_payloads: rss_many,
        function_peak_rss_mb_one_max_payload: function_rss(|m| m.after_one_mb),
        function_peak_rss_mb_after_50_payloads: function_rss(|m| m.after_all_mb),
        function_memory_error: function_memory.and_then(Result::err),
        cold_start_ms: cold.map(|c| c.ms),
        cold_start_hello_ms: hello.map(|c| c.ms),
        cold_start_sdk_ms: sdk.map(|c| c.ms),
        cold_start_ratio: match (cold, hello) {
            (Some(c), Some(h)) if h.ms > 0.0 => Some(c.ms / h.ms),
            _ => None,
        },
        cold_start_cpu_ms: cold.and_then(|c| c.cpu_ms),
        cold_start_hello_cpu_ms: hello.and_then(|c| c.cpu_ms),
        cold_start_sdk_cpu_ms: sdk.and_then(|c| c.cpu_ms),
        cold_start_page_faults: cold.and_then(|c| c.page_faults),
        cold_start_hello_page_faults: hello.and_then(|c| c.page_faults),
        cold_start_sdk_page_faults: sdk.and_then(|c| c.page_faults),
    }
}

/// The fastest of `rounds` runs of `scan --jobs 1` and of `scan --jobs <threads>` over the
/// payloads written to a temporary directory, one file each, timed in alternation. `None`
/// when a run fails (its error is printed).
fn scan_timings(
    payloads: &[Payload],
    threads: usize,
    rounds: usize,
) -> Option<(Duration, Duration)> {
    let exe = std::env::current_exe().ok()?;
    let dir = std::env::temp_dir().join(format!("eaw-bench-scan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).ok()?;
    let result = (|| {
        let mut files = Vec::with_capacity(payloads.len());
        for (i, p) in payloads.iter().enumerate() {
            let file = dir.join(format!("payload-{i:04}.json"));
            std::fs::write(&file, p.value.to_string()).ok()?;
            files.push(file);
        }
        let run = |jobs: usize| -> Option<Duration> {
            let archive = dir.join(format!("archive-{jobs}"));
            let start = Instant::now();
            let out = Command::new(&exe)
                .arg("scan")
                .args(["--jobs", &jobs.to_string(), "--format", "json"])
                .arg("--archive-dir")
                .arg(&archive)
                .args(&files)
                .env_remove("AWS_LAMBDA_RUNTIME_API")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()
                .ok()?;
            let elapsed = start.elapsed();
            let _ = std::fs::remove_dir_all(&archive);
            if !out.status.success() {
                eprintln!(
                    "bench: scan --jobs {jobs} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                return None;
            }
            Some(elapsed)
        };
        let (mut one, mut all) = (Duration::MAX, Duration::MAX);
        for _ in 0..rounds {
            one = one.min(run(1)?);
            all = all.min(run(threads)?);
        }
        Some((one, all))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Size of `gzip -6` of each NDJSON, summed (None without a gzip program).
fn gzip6_size(ndjson: &[Vec<u8>]) -> Option<u64> {
    let mut total = 0u64;
    for n in ndjson {
        let mut child = Command::new("gzip")
            .args(["-6", "-c", "-n"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let data = n.clone();
        let writer = std::thread::spawn(move || stdin.write_all(&data));
        let out = child.wait_with_output().ok()?;
        writer.join().ok()?.ok()?;
        total += out.stdout.len() as u64;
    }
    Some(total)
}

/// Peak RSS (VmHWM) of a fresh process that handles the largest payload once, then 49
/// more times: a warm container must not grow with the number of batches.
fn rss_probe(payload: &Value) -> (Option<f64>, Option<f64>) {
    let dir = std::env::temp_dir().join(format!("eaw-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("largest-payload.json");
    if std::fs::write(&file, payload.to_string()).is_err() {
        return (None, None);
    }
    let probe = |n: usize| -> Option<f64> {
        let exe = std::env::current_exe().ok()?;
        let out = Command::new(exe)
            .args(["bench", "--rss-probe"])
            .arg(&file)
            .args(["--repeat", &n.to_string()])
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .ok()
    };
    let r = (probe(1), probe(50));
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// The child side of [`rss_probe`]: process the payload `repeat` times, print VmHWM in MB.
pub fn rss_probe_child(path: &Path, repeat: usize) -> anyhow::Result<f64> {
    let p = pipeline(ArchiveCodec::Gzip, 6);
    for _ in 0..repeat {
        // Read and parse per batch, as the runtime does per invocation.
        let text = std::fs::read(path)?;
        let value: Value = serde_json::from_slice(&text)?;
        std::hint::black_box(p.process_payload(&value, &text, 0));
    }
    peak_rss_mb().ok_or_else(|| anyhow::anyhow!("VmHWM not available (/proc/self/status)"))
}

pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Median time (and CPU time, page faults) from spawn to the first `GET …/invocation/next`:
/// for this binary, a bare `lambda_runtime` hello world built the same way
/// (`examples/hello_lambda.rs`) and that function with the SDK set up as ours is
/// (`examples/sdk_lambda.rs`), both found next to this executable's directory when
/// `make bench` built them. The three are started in turn, eleven rounds, so a change in
/// the machine's speed touches them alike.
fn cold_starts() -> [Option<StartToNext>; 3] {
    let Ok(exe) = std::env::current_exe() else {
        return [None; 3];
    };
    let example = |name: &str| {
        exe.parent()
            .map(|d| d.join("examples").join(name))
            .filter(|p| p.exists())
    };
    let bins = [
        Some(exe.clone()),
        example("hello_lambda"),
        example("sdk_lambda"),
    ];
    let mut starts: [Vec<StartToNext>; 3] = Default::default();
    for _ in 0..11 {
        for (bin, s) in bins.iter().zip(&mut starts) {
            if let Some(start) = bin.as_deref().and_then(time_to_next) {
                s.push(start);
            }
        }
    }
    starts.map(|s| {
        Some(StartToNext {
            ms: median(s.iter().map(|s| s.ms))?,
            cpu_ms: median(s.iter().filter_map(|s| s.cpu_ms)),
            page_faults: median(s.iter().filter_map(|s| s.page_faults.map(|n| n as f64)))
                .map(|n| n as u64),
        })
    })
}

fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied()
}

/// CPU time and minor page faults of a running process, from `/proc` (Linux).
fn cpu_and_faults(pid: u32) -> (Option<f64>, Option<u64>) {
    // `schedstat`: nanoseconds on a CPU, then waiting, then timeslices.
    let cpu_ms = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .map(|ns| ns as f64 / 1e6);
    // `stat`: minflt is the 10th field; the 2nd, the command name in parentheses, may hold
    // spaces, so count from the last `)`.
    let faults = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let after = &s[s.rfind(')')? + 1..];
            after.split_whitespace().nth(7)?.parse().ok()
        });
    (cpu_ms, faults)
}

/// The environment Lambda gives a function — the parts the runtime and the SDK read — with
/// dummy credentials, for a function started against a local Runtime API.
fn as_lambda_function<'c>(function: &'c mut Command, runtime_api: &str) -> &'c mut Command {
    function
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
}

/// A tiny Runtime API: accept the runtime's first connection and time its `/next` request.
/// The accept blocks (polling would add up to a polling interval to every figure); a
/// watchdog connects after ten seconds to wake it when the function never calls.
fn time_to_next(bin: &Path) -> Option<StartToNext> {
    time_to_next_within(Command::new(bin), Duration::from_secs(10))
}

fn time_to_next_within(mut function: Command, limit: Duration) -> Option<StartToNext> {
    let listener = TcpListener::bind("127.0.0.1:0").ok()?;
    let addr = listener.local_addr().ok()?;
    // As deployed: AWS's own endpoints, so the TLS roots `auto` picks are Amazon's,
    // whatever endpoint the shell running the bench points at.
    for var in crate::config::TrustRoots::ENDPOINT_VARIABLES {
        function.env_remove(var);
    }
    function.env_remove("TLS_ROOTS");
    let start = Instant::now();
    let mut child = as_lambda_function(&mut function, &addr.to_string())
        .env("ARCHIVE_BUCKET", "bench-archive")
        .env(
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:bench",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let (called, wait) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if wait.recv_timeout(limit).is_err() {
            // The watchdog's connection sends nothing, so it is not taken for `/next`.
            let _ = TcpStream::connect(addr);
        }
    });
    let accepted = listener.accept().ok();
    let elapsed = start.elapsed();
    let _ = called.send(());
    let got_next = accepted.is_some_and(|(mut conn, _)| {
        let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
        let mut buf = [0u8; 256];
        let n = conn.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).contains("/runtime/invocation/next")
    });
    // The function now waits for our answer: what it has used so far is its start.
    let (cpu_ms, page_faults) = cpu_and_faults(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let _ = watchdog.join();
    got_next.then_some(StartToNext {
        ms: elapsed.as_secs_f64() * 1000.0,
        cpu_ms,
        page_faults,
    })
}

/// The terminal table.
pub fn render(r: &BenchReport) -> String {
    use crate::cli::table::Table;
    let mut s = String::new();
    let mut t = Table::new(&["corpus", ""]).align_right(1);
    t.row(vec!["events".into(), r.events.to_string()]);
    t.row(vec![
        "payloads".into(),
        format!(
            "{} (largest {} events)",
            r.payloads, r.largest_payload_events
        ),
    ]);
    t.row(vec![
        "input raw".into(),
        format!("{:.1} MB", r.input_raw_bytes as f64 / 1e6),
    ]);
    t.row(vec![
        "input gzip".into(),
        format!("{:.1} MB", r.input_compressed_bytes as f64 / 1e6),
    ]);
    t.row(vec![
        "kept / findings".into(),
        format!("{} / {}", r.kept, r.findings),
    ]);
    s.push_str(&t.render());
    let mut t = Table::new(&["throughput", "seconds", "events/s", "raw MB/s"])
        .align_right(1)
        .align_right(2)
        .align_right(3);
    t.row(vec![
        "pipeline, 1 thread".into(),
        format!("{:.3}", r.single_thread_seconds),
        format!("{:.0}", r.single_thread_events_per_sec),
        format!("{:.1}", r.single_thread_mb_per_sec),
    ]);
    t.row(vec![
        format!("pipeline, {} threads", r.threads),
        format!("{:.3}", r.multi_thread_seconds),
        format!("{:.0}", r.multi_thread_events_per_sec),
        format!("{:.1}", r.multi_thread_mb_per_sec),
    ]);
    t.row(vec![
        "codec floor (inflate + deflate)".into(),
        format!("{:.3}", r.floor_seconds),
        format!("{:.0}", r.events as f64 / r.floor_seconds),
        format!("{:.1}", r.input_raw_bytes as f64 / 1e6 / r.floor_seconds),
    ]);
    t.row(vec![
        "pipeline, 1 thread, zstd archive".into(),
        format!("{:.3}", r.zstd_seconds),
        format!("{:.0}", r.events as f64 / r.zstd_seconds),
        format!("{:.1}", r.input_raw_bytes as f64 / 1e6 / r.zstd_seconds),
    ]);
    t.row(vec![
        "zstd floor (inflate + zstd -3)".into(),
        format!("{:.3}", r.zstd_floor_seconds),
        format!("{:.0}", r.events as f64 / r.zstd_floor_seconds),
        format!(
            "{:.1}",
            r.input_raw_bytes as f64 / 1e6 / r.zstd_floor_seconds
        ),
    ]);
    if let (Some(one), Some(all)) = (r.scan_seconds_one_job, r.scan_seconds_all_jobs) {
        t.row(vec![
            format!("scan, {} files, --jobs 1", r.scan_files),
            format!("{one:.3}"),
            format!("{:.0}", r.events as f64 / one),
            format!("{:.1}", r.input_raw_bytes as f64 / 1e6 / one),
        ]);
        t.row(vec![
            format!("scan, {} files, --jobs {}", r.scan_files, r.threads),
            format!("{all:.3}"),
            format!("{:.0}", r.events as f64 / all),
            format!("{:.1}", r.input_raw_bytes as f64 / 1e6 / all),
        ]);
    }
    s.push_str(&t.render());
    s.push_str(&format!(
        "pipeline / floor = {:.2}x   (floor: inflate {:.3}s + deflate {:.3}s)   scaling on {} threads = {:.2}x\n",
        r.floor_ratio, r.floor_inflate_seconds, r.floor_deflate_seconds, r.threads, r.scaling
    ));
    if let Some(x) = r.scan_scaling {
        s.push_str(&format!(
            "scan: --jobs {} / --jobs 1 = {x:.2}x\n",
            r.threads
        ));
    }
    s.push_str(&format!(
        "zstd: pipeline / zstd floor = {:.2}x   archive {:.3}x the size of gzip's\n",
        r.zstd_floor_ratio,
        r.zstd_archive_bytes as f64 / r.archive_bytes.max(1) as f64
    ));
    let mut t = Table::new(&["stage", "seconds", "share"])
        .align_right(1)
        .align_right(2);
    for st in &r.stages {
        t.row(vec![
            st.stage.into(),
            format!("{:.3}", st.seconds),
            format!("{:.1}%", st.share * 100.0),
        ]);
    }
    s.push_str(&t.render());
    let opt = |v: Option<f64>, unit: &str| {
        v.map(|x| format!("{x:.1} {unit}"))
            .unwrap_or_else(|| "-".into())
    };
    let mut t = Table::new(&["resources", ""]).align_right(1);
    t.row(vec![
        "archive bytes / input raw".into(),
        format!("{:.3}", r.archive_vs_input_raw),
    ]);
    t.row(vec![
        "archive bytes / gzip -6 of the NDJSON".into(),
        r.archive_vs_gzip6
            .map(|x| format!("{x:.3}"))
            .unwrap_or_else(|| "- (no gzip)".into()),
    ]);
    t.row(vec![
        "peak RSS, Lambda function, one max payload".into(),
        opt(r.function_peak_rss_mb_one_max_payload, "MB"),
    ]);
    t.row(vec![
        "peak RSS, Lambda function, after 50".into(),
        opt(r.function_peak_rss_mb_after_50_payloads, "MB"),
    ]);
    t.row(vec![
        "peak RSS, pipeline alone, one max payload".into(),
        opt(r.peak_rss_mb_one_max_payload, "MB"),
    ]);
    t.row(vec![
        "peak RSS, pipeline alone, after 50".into(),
        opt(r.peak_rss_mb_after_50_payloads, "MB"),
    ]);
    s.push_str(&t.render());
    if let Some(e) = &r.function_memory_error {
        s.push_str(&format!("Lambda function's memory not measured: {e}\n"));
    }
    // Wall time, and the CPU time and page faults behind it.
    let mut t = Table::new(&["cold start to /next", "wall", "CPU", "page faults"])
        .align_right(1)
        .align_right(2)
        .align_right(3);
    // Each function's start as (wall, CPU, page faults): ours, then the two references.
    let [ours, hello, sdk] = [
        (
            r.cold_start_ms,
            r.cold_start_cpu_ms,
            r.cold_start_page_faults,
        ),
        (
            r.cold_start_hello_ms,
            r.cold_start_hello_cpu_ms,
            r.cold_start_hello_page_faults,
        ),
        (
            r.cold_start_sdk_ms,
            r.cold_start_sdk_cpu_ms,
            r.cold_start_sdk_page_faults,
        ),
    ];
    let ms2 = |v: Option<f64>| v.map_or_else(|| "-".into(), |x| format!("{x:.2} ms"));
    for (name, (ms, cpu, faults)) in [
        ("eks-audit-watch", ours),
        ("bare lambda_runtime", hello),
        ("bare + SDK set-up", sdk),
    ] {
        t.row(vec![
            name.into(),
            ms2(ms),
            ms2(cpu),
            faults.map_or_else(|| "-".into(), |n| n.to_string()),
        ]);
    }
    let times = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
        _ => "-".into(),
    };
    let count = |n: Option<u64>| n.map(|n| n as f64);
    // Against the bare function (the target's yardstick) and against the same function with
    // only our SDK set-up (what is left of ours once the SDK's own start is counted out).
    for (name, (ms, cpu, faults)) in [("ratio to bare", hello), ("ratio to bare + SDK", sdk)] {
        t.row(vec![
            name.into(),
            times(ours.0, ms),
            times(ours.1, cpu),
            times(count(ours.2), count(faults)),
        ]);
    }
    s.push_str(&t.render());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cold-start table sets our start against both references, time and faults.
    #[test]
    fn the_cold_start_table_has_a_ratio_to_each_reference() {
        let r = BenchReport {
            cold_start_ms: Some(3.0),
            cold_start_cpu_ms: Some(2.4),
            cold_start_page_faults: Some(300),
            cold_start_hello_ms: Some(2.0),
            cold_start_hello_cpu_ms: Some(1.6),
            cold_start_hello_page_faults: Some(100),
            cold_start_sdk_ms: Some(2.5),
            cold_start_sdk_cpu_ms: Some(2.0),
            cold_start_sdk_page_faults: Some(250),
            ..BenchReport::default()
        };
        let table = render(&r);
        let row = |name: &str| {
            table
                .lines()
                .find(|l| l.starts_with(&format!("| {name} ")))
                .unwrap_or_else(|| panic!("no row {name} in\n{table}"))
                .split('|')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .skip(1)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(row("ratio to bare"), "1.50x 1.50x 3.00x");
        assert_eq!(row("ratio to bare + SDK"), "1.20x 1.20x 1.20x");
    }

    #[test]
    fn only_a_next_request_counts_as_a_cold_start() {
        let bash = |script: &str| {
            let mut c = Command::new("bash");
            c.arg("-c").arg(script);
            c
        };
        // Exits at once: the watchdog wakes the probe, and its connection is not a `/next`.
        assert_eq!(
            time_to_next_within(bash("exit 0"), Duration::from_millis(300)),
            None
        );
        // Calls the Runtime API, but not for `/next`, and then for it.
        let call = |path: &str| {
            format!(
                "exec 3<>/dev/tcp/${{AWS_LAMBDA_RUNTIME_API%:*}}/${{AWS_LAMBDA_RUNTIME_API#*:}}; \
                 printf 'GET {path} HTTP/1.1\\r\\n\\r\\n' >&3; sleep 1"
            )
        };
        let limit = Duration::from_secs(5);
        assert_eq!(time_to_next_within(bash(&call("/other")), limit), None);
        let start = time_to_next_within(bash(&call("/2018-06-01/runtime/invocation/next")), limit)
            .expect("a start to /next");
        // Read from the waiting process: it has run (bash starting up) and faulted pages in.
        if cfg!(target_os = "linux") {
            assert!(start.cpu_ms.is_some_and(|ms| ms > 0.0), "{start:?}");
            assert!(start.page_faults.is_some_and(|n| n > 10), "{start:?}");
        }
    }

    #[test]
    fn payloads_fit_lambdas_limit_and_count_every_event() {
        let ps = build_payloads(3_000, 7);
        assert_eq!(ps.iter().map(|p| p.events).sum::<usize>(), 3_000);
        for p in &ps {
            let sent = p.value.to_string().len();
            assert_eq!(sent, invoke_payload_len(p.compressed.len()));
            assert!(sent <= MAX_INVOKE_PAYLOAD, "{sent} bytes");
        }
        assert!(ps.len() >= 4, "varied batch sizes");
        let first = decode::decode_payload(&ps[0].value, 1 << 30).unwrap();
        assert!(matches!(first, decode::Decoded::Data(d) if d.log_events.len() == ps[0].events));
    }
}
