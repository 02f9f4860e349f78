//! Criterion micro-benchmarks of the hot stages, so a regression shows where it is.
//! `cargo bench` (the end-to-end figures are `make bench`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eks_audit_watch::bench::build_payloads;
use eks_audit_watch::corpus::Corpus;
use eks_audit_watch::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use eks_audit_watch::pipeline::decode::{self, Decoded};
use eks_audit_watch::pipeline::enrich::{BatchContext, ENRICHMENT_KEY, enrich};
use eks_audit_watch::pipeline::event::AuditEvent;
use eks_audit_watch::pipeline::ipintel::{CidrSet, IpIntel};
use eks_audit_watch::pipeline::{Pipeline, PipelineOptions, redact};
use eks_audit_watch::rules::{EventView, RuleMatching, RuleSet};

fn events(n: usize) -> Vec<String> {
    Corpus::messages(9, n)
}

fn stages(c: &mut Criterion) {
    let msgs = events(2_000);
    let bytes: u64 = msgs.iter().map(|m| m.len() as u64).sum();
    let parsed: Vec<AuditEvent> = msgs
        .iter()
        .filter_map(|m| AuditEvent::parse(m).ok())
        .collect();
    let filter = FilterPattern::parse(LACEWORK_PATTERN).unwrap();
    let rules = RuleSet::builtin();
    let intel = IpIntel::embedded(CidrSet::default());
    let batch = decode::LogsData {
        log_group: "/aws/eks/bench/cluster".into(),
        ..Default::default()
    };
    let ctx = BatchContext::new(&batch, None, None);
    let log = decode::LogEvent::default();
    let enriched: Vec<_> = parsed
        .iter()
        .map(|e| enrich(e, &ctx, &log, &intel))
        .collect();
    // Members are parsed on first use and cached: each stage gets freshly indexed events so
    // it pays for the members it reads first, as in the pipeline.
    let fresh = || -> Vec<AuditEvent> {
        msgs.iter()
            .filter_map(|m| AuditEvent::parse(m).ok())
            .collect()
    };

    let mut g = c.benchmark_group("per-event stages (2000 events)");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("event parse", |b| {
        b.iter(|| {
            msgs.iter()
                .filter(|m| AuditEvent::parse(black_box(m)).is_ok())
                .count()
        })
    });
    g.bench_function("filter", |b| {
        b.iter_batched(
            fresh,
            |evs| evs.iter().filter(|e| filter.matches(black_box(*e))).count(),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("redact", |b| {
        b.iter_batched(
            fresh,
            |evs| {
                evs.into_iter()
                    .filter_map(|e| redact::redact_audit_event(e).ok())
                    .map(|(_, paths)| paths.len())
                    .sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("enrich", |b| {
        b.iter_batched(
            fresh,
            |evs| {
                evs.iter()
                    .map(|e| enrich(black_box(e), &ctx, &log, &intel).cw_time.len())
                    .sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("detect (built-in pack)", |b| {
        b.iter_batched(
            fresh,
            |evs| {
                evs.iter()
                    .zip(&enriched)
                    .map(|(e, en)| {
                        rules
                            .evaluate(
                                &EventView {
                                    event: e,
                                    enrichment: Some(en),
                                },
                                RuleMatching::All,
                            )
                            .len()
                    })
                    .sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("serialise", |b| {
        let mut line = Vec::new();
        b.iter(|| {
            parsed
                .iter()
                .zip(&enriched)
                .map(|(e, en)| {
                    line.clear();
                    e.write_archive_line(ENRICHMENT_KEY, en, &mut line);
                    line.len()
                })
                .sum::<usize>()
        })
    });
    g.finish();

    let payloads = build_payloads(5_000, 3);
    let raw: u64 = payloads.iter().map(|p| p.raw_bytes as u64).sum();
    let pipeline = Pipeline::new(
        filter.clone(),
        RuleSet::builtin(),
        PipelineOptions::default(),
    );
    let mut g = c.benchmark_group("whole batches (5000 events)");
    g.throughput(Throughput::Bytes(raw));
    g.sample_size(10);
    g.bench_function("decode only", |b| {
        b.iter(|| {
            payloads
                .iter()
                .filter(|p| {
                    matches!(
                        decode::decode_payload(&p.value, 1 << 30),
                        Ok(Decoded::Data(_))
                    )
                })
                .count()
        })
    });
    g.bench_function("pipeline", |b| {
        b.iter(|| {
            payloads
                .iter()
                .map(|p| {
                    pipeline
                        .process_payload(black_box(&p.value), &[], 0)
                        .counters
                        .kept
                })
                .sum::<u64>()
        })
    });
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
