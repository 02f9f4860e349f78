//! Criterion micro-benchmarks of the hot stages, so a regression shows where it is.
//! `cargo bench` (the end-to-end figures are `make bench`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use eks_audit_watch::bench::build_payloads;
use eks_audit_watch::corpus::{Corpus, CorpusSpec};
use eks_audit_watch::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use eks_audit_watch::pipeline::decode::{self, Decoded};
use eks_audit_watch::pipeline::enrich::{BatchContext, enrich};
use eks_audit_watch::pipeline::event::AuditEvent;
use eks_audit_watch::pipeline::ipintel::{CidrSet, IpIntel};
use eks_audit_watch::pipeline::{Pipeline, PipelineOptions, redact};
use eks_audit_watch::rules::{EventView, RuleMatching, RuleSet};

fn events(n: usize) -> Vec<String> {
    Corpus::new(CorpusSpec {
        seed: 9,
        attacks: true,
        ..CorpusSpec::default()
    })
    .take(n)
    .map(|e| e.message)
    .collect()
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
    let ctx = BatchContext {
        cluster: "bench".into(),
        ..Default::default()
    };
    let log = decode::LogEvent::default();
    let enriched: Vec<serde_json::Value> = parsed
        .iter()
        .map(|e| serde_json::to_value(enrich(e, &ctx, &log, &intel)).unwrap())
        .collect();

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
        b.iter(|| {
            parsed
                .iter()
                .filter(|e| filter.matches(black_box(&e.json)))
                .count()
        })
    });
    g.bench_function("redact", |b| {
        b.iter_batched(
            || parsed.clone(),
            |mut evs| {
                evs.iter_mut()
                    .map(|e| redact::redact_event(&mut e.json).len())
                    .sum::<usize>()
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("enrich", |b| {
        b.iter(|| {
            parsed
                .iter()
                .map(|e| enrich(black_box(e), &ctx, &log, &intel).cw_time.len())
                .sum::<usize>()
        })
    });
    g.bench_function("detect (built-in pack)", |b| {
        b.iter(|| {
            parsed
                .iter()
                .zip(&enriched)
                .map(|(e, en)| {
                    rules
                        .evaluate(
                            &EventView {
                                event: &e.json,
                                enrichment: Some(en),
                            },
                            RuleMatching::All,
                        )
                        .len()
                })
                .sum::<usize>()
        })
    });
    g.bench_function("serialise", |b| {
        b.iter(|| {
            parsed
                .iter()
                .map(|e| serde_json::to_vec(black_box(&e.json)).unwrap().len())
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
