//! A quiet cluster stays quiet: an hour of ordinary EKS control-plane traffic (kubelet leases
//! and status patches, controller watches, metadata-level secret reads, human kubectl reads,
//! CI deploys, EKS's own components) raises nothing at medium or above.

use eks_audit_watch::corpus::{Corpus, CorpusSpec, category_counts};
use eks_audit_watch::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use eks_audit_watch::pipeline::decode::{DATA_MESSAGE, LogEvent, LogsData};
use eks_audit_watch::pipeline::{Pipeline, PipelineOptions};
use eks_audit_watch::rules::RuleSet;
use eks_audit_watch::severity::Severity;

#[test]
fn an_hour_of_ordinary_traffic_raises_nothing_at_medium_or_above() {
    // One hour at 6 events/s; batches of ~5 s, like a subscription delivers them.
    let spec = CorpusSpec {
        seed: 42,
        events_per_second: 6.0,
        ..CorpusSpec::default()
    };
    let events = 6 * 3600;
    let pipeline = Pipeline::new(
        FilterPattern::parse(LACEWORK_PATTERN).unwrap(),
        RuleSet::builtin(),
        PipelineOptions::default(),
    );
    let mut corpus = Corpus::new(spec.clone());
    let mut loud = Vec::new();
    let (mut kept, mut received) = (0, 0);
    for batch in 0..(events / 30) {
        let log_events = corpus
            .by_ref()
            .take(30)
            .enumerate()
            .map(|(i, e)| LogEvent {
                id: format!("{batch:028}{i:028}"),
                timestamp: e.timestamp_ms,
                message: e.message,
            })
            .collect();
        let data = LogsData {
            message_type: DATA_MESSAGE.into(),
            owner: spec.account.clone(),
            log_group: format!("/aws/eks/{}/cluster", spec.cluster),
            log_stream: "kube-apiserver-audit-0123456789abcdef".into(),
            subscription_filters: vec!["eks-audit-watch".into()],
            log_events,
        };
        let out = pipeline.process_logs(&data);
        received += out.counters.received;
        kept += out.counters.kept;
        loud.extend(
            out.findings
                .into_iter()
                .filter(|f| f.severity >= Severity::Medium)
                .map(|f| {
                    format!(
                        "{} {} by {} on {} {}/{}",
                        f.rule_id, f.rule, f.user, f.verb, f.resource, f.name
                    )
                }),
        );
    }
    assert_eq!(received, events as u64);
    assert!(
        kept > received * 8 / 10,
        "most ordinary traffic is kept: {kept}/{received}"
    );
    let mix = category_counts(&spec, 5_000);
    assert!(mix.len() >= 10, "a realistic mix: {mix:?}");
    assert!(
        loud.is_empty(),
        "{} medium+ findings on ordinary traffic, e.g.:\n{}",
        loud.len(),
        loud.iter().take(15).cloned().collect::<Vec<_>>().join("\n")
    );
}
