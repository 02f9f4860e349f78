//! The pipeline: decode → parse → filter → redact → enrich → detect → archive record.
//!
//! Everything here is pure: it takes bytes and configuration and returns what should be
//! written where ([`BatchOutcome`]). The Lambda handler and the CLI own the I/O.

pub mod batch;
pub mod cidr;
pub mod decode;
pub mod detect;
pub mod enrich;
pub mod envelope;
pub mod event;
pub mod ipintel;
pub mod json_scan;
pub mod redact;
pub mod simd;
pub mod timing;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::archive::{ArchiveCodec, ArchiveKey, ArchiveWriter};
use crate::filter_pattern::FilterPattern;
use crate::rules::{BatchMemo, RuleMatching, RuleSet};
use crate::severity::Severity;
use crate::timefmt::UtcHour;
use decode::{Decoded, LogsData, QuarantineReason};
use detect::Finding;
use enrich::{BatchContext, ENRICHMENT_KEY};
use event::AuditEvent;
pub use timing::{Stage, Stopwatch};

/// Options shared by the Lambda and the CLI.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    pub max_inflated_bytes: u64,
    /// Used when the log group is not `/aws/eks/<cluster>/cluster`.
    pub default_cluster: Option<String>,
    pub region: Option<String>,
    pub archive_prefix: String,
    pub quarantine_prefix: String,
    pub archive_codec: ArchiveCodec,
    pub gzip_level: u32,
    pub zstd_level: i32,
    pub rule_matching: RuleMatching,
    pub batch_thresholds: batch::BatchThresholds,
    /// Source addresses the operator trusts (VPN egress, office), for rules on public IPs.
    pub trusted_cidrs: ipintel::CidrSet,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            max_inflated_bytes: decode::DEFAULT_MAX_INFLATED_BYTES,
            default_cluster: None,
            region: None,
            archive_prefix: "audit".into(),
            quarantine_prefix: "quarantine".into(),
            archive_codec: ArchiveCodec::Gzip,
            gzip_level: 6,
            zstd_level: 3,
            rule_matching: RuleMatching::All,
            batch_thresholds: batch::BatchThresholds::default(),
            trusted_cidrs: ipintel::CidrSet::default(),
        }
    }
}

/// What happened to the log events of one or more batches. Every received event is
/// exactly one of kept, filtered, duplicate or unparseable.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Counters {
    pub payloads: u64,
    pub control_messages: u64,
    pub quarantined_payloads: u64,
    /// Log events received in decodable DATA_MESSAGE payloads.
    pub received: u64,
    /// Parsed, passed the filter pattern, archived.
    pub kept: u64,
    /// Dropped on purpose by the filter pattern.
    pub filtered: u64,
    /// Same `auditID` + `stage` seen earlier in the batch.
    pub duplicates: u64,
    /// Not a parsable audit event: archived raw (redacted) with the parse error.
    pub unparseable: u64,
    pub redacted_values: u64,
    pub findings: BTreeMap<Severity, u64>,
    pub alerts_sent: u64,
    pub archive_objects: u64,
    pub archive_raw_bytes: u64,
    pub archive_compressed_bytes: u64,
}

impl Counters {
    pub fn add(&mut self, o: &Counters) {
        self.payloads += o.payloads;
        self.control_messages += o.control_messages;
        self.quarantined_payloads += o.quarantined_payloads;
        self.received += o.received;
        self.kept += o.kept;
        self.filtered += o.filtered;
        self.duplicates += o.duplicates;
        self.unparseable += o.unparseable;
        self.redacted_values += o.redacted_values;
        for (s, n) in &o.findings {
            *self.findings.entry(*s).or_default() += n;
        }
        self.alerts_sent += o.alerts_sent;
        self.archive_objects += o.archive_objects;
        self.archive_raw_bytes += o.archive_raw_bytes;
        self.archive_compressed_bytes += o.archive_compressed_bytes;
    }

    /// Every received event is accounted for.
    pub fn balanced(&self) -> bool {
        self.received == self.kept + self.filtered + self.duplicates + self.unparseable
    }
}

/// One gzip NDJSON object to write.
#[derive(Debug, Clone)]
pub struct ArchiveObject {
    pub key: ArchiveKey,
    pub body: Vec<u8>,
    pub records: usize,
    pub codec: ArchiveCodec,
}

/// A payload that could not be decoded, kept whole with its reason.
#[derive(Debug, Clone)]
pub struct QuarantineObject {
    pub key: String,
    pub body: Vec<u8>,
    pub reason: QuarantineReason,
}

/// An event that was kept although it could not be parsed (position in the batch).
#[derive(Debug, Clone, PartialEq)]
pub struct Unparseable {
    pub index: usize,
    pub cw_event_id: String,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub counters: Counters,
    pub context: Option<BatchContext>,
    pub archive: Option<ArchiveObject>,
    pub quarantine: Option<QuarantineObject>,
    pub findings: Vec<Finding>,
    pub unparseable: Vec<Unparseable>,
}

/// Never dropped: a message that does not parse (or whose redaction needs a tree that cannot
/// be built) is archived raw, redacted as text, with the reason.
fn archive_unparseable(
    ctx: &BatchContext,
    index: usize,
    log: &decode::LogEvent,
    err: event::EventError,
    writer: &mut ArchiveWriter,
    out: &mut BatchOutcome,
) {
    let (text, n) = redact::redact_text(&log.message);
    let mut en = enrich::base(ctx, log);
    en.parse_error = Some(err.to_string());
    let record = serde_json::json!({ ENRICHMENT_KEY: en, "rawMessage": text });
    writer.push(&record).expect("in-memory write");
    out.counters.unparseable += 1;
    out.counters.redacted_values += n as u64;
    out.unparseable.push(Unparseable {
        index,
        cw_event_id: log.id.clone(),
        error: err.to_string(),
    });
}

pub struct Pipeline {
    pub filter: FilterPattern,
    pub rules: RuleSet,
    pub options: PipelineOptions,
    pub ip_intel: ipintel::IpIntel,
}

/// `part` as the slice of `whole` it is, with `whole`'s lifetime (a string read straight
/// from a message's text), else a copy (a string that had escapes). The batch's dedup set
/// then borrows its keys from the messages instead of copying two strings per event.
fn within<'d>(whole: &'d str, part: &str) -> Cow<'d, str> {
    let offset = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    match offset
        .checked_add(part.len())
        .and_then(|end| whole.get(offset..end))
    {
        Some(s) if std::ptr::eq(s.as_ptr(), part.as_ptr()) => Cow::Borrowed(s),
        _ => Cow::Owned(part.to_string()),
    }
}

impl Pipeline {
    pub fn new(filter: FilterPattern, rules: RuleSet, options: PipelineOptions) -> Self {
        let ip_intel = ipintel::IpIntel::embedded(options.trusted_cidrs.clone());
        Pipeline {
            filter,
            rules,
            options,
            ip_intel,
        }
    }

    /// A Lambda payload (`{"awslogs":…}`). `raw` is the payload as received (quarantined
    /// verbatim if it cannot be decoded), or empty: then `payload` is re-serialised, only in
    /// that rare case. `now_ms` dates the quarantine object.
    pub fn process_payload(&self, payload: &Value, raw: &[u8], now_ms: i64) -> BatchOutcome {
        self.process_payload_timed(payload, raw, now_ms, &mut Stopwatch::off())
    }

    /// As [`Pipeline::process_payload`], adding each stage's time to `sw` (the benchmark).
    pub fn process_payload_timed(
        &self,
        payload: &Value,
        raw: &[u8],
        now_ms: i64,
        sw: &mut Stopwatch,
    ) -> BatchOutcome {
        let t = sw.start();
        let json = decode::payload_data(payload)
            .and_then(|d| decode::inflate_data(d, self.options.max_inflated_bytes));
        sw.stop(Stage::Inflate, t);
        let t = sw.start();
        let decoded = json.and_then(|j| decode::parse_logs_data(&j));
        sw.stop(Stage::LogsParse, t);
        match decoded {
            Ok(Decoded::Data(data)) => self.process_logs_timed(&data, sw),
            Ok(control) => self.process_decoded(control),
            Err(reason) if raw.is_empty() => {
                let bytes = serde_json::to_vec(payload).expect("a JSON value serialises");
                self.quarantine(&bytes, reason, now_ms)
            }
            Err(reason) => self.quarantine(raw, reason, now_ms),
        }
    }

    pub fn process_decoded(&self, decoded: Decoded) -> BatchOutcome {
        match decoded {
            Decoded::Control => BatchOutcome {
                counters: Counters {
                    payloads: 1,
                    control_messages: 1,
                    ..Default::default()
                },
                ..Default::default()
            },
            Decoded::Data(data) => self.process_logs(&data),
        }
    }

    pub fn quarantine(&self, raw: &[u8], reason: QuarantineReason, now_ms: i64) -> BatchOutcome {
        let digest = Sha256::digest(raw);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let key = format!(
            "{}/dt={}/{}-{}.json",
            self.options.quarantine_prefix.trim_matches('/'),
            UtcHour::from_epoch_ms(now_ms).date(),
            reason.code(),
            &hex[..32]
        );
        let body = serde_json::json!({
            "reason": reason.code(),
            "error": reason.to_string(),
            "quarantinedAt": crate::timefmt::rfc3339_from_epoch_ms(now_ms),
            "payloadSha256": hex,
            "payloadBytes": raw.len(),
            "payload": String::from_utf8_lossy(raw),
        });
        BatchOutcome {
            counters: Counters {
                payloads: 1,
                quarantined_payloads: 1,
                ..Default::default()
            },
            quarantine: Some(QuarantineObject {
                key,
                body: serde_json::to_vec_pretty(&body).expect("json"),
                reason,
            }),
            ..Default::default()
        }
    }

    /// A decoded DATA_MESSAGE batch.
    pub fn process_logs(&self, data: &LogsData) -> BatchOutcome {
        self.process_logs_timed(data, &mut Stopwatch::off())
    }

    pub fn process_logs_timed(&self, data: &LogsData, sw: &mut Stopwatch) -> BatchOutcome {
        let ctx = BatchContext::new(
            data,
            self.options.default_cluster.as_deref(),
            self.options.region.as_deref(),
        );
        let mut out = BatchOutcome {
            counters: Counters {
                payloads: 1,
                received: data.log_events.len() as u64,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut writer = ArchiveWriter::new(
            self.options.archive_codec,
            self.options.gzip_level,
            self.options.zstd_level,
        );
        let mut seen: HashSet<(Cow<str>, Cow<str>), foldhash::fast::RandomState> =
            HashSet::default();
        let mut bursts = batch::BatchAggregator::new(self.options.batch_thresholds);
        let rule_memo = BatchMemo::new();
        for (index, log) in data.log_events.iter().enumerate() {
            let t = sw.start();
            let parsed = AuditEvent::parse(&log.message);
            sw.stop(Stage::EventParse, t);
            let event = match parsed {
                Ok(e) => e,
                Err(err) => {
                    archive_unparseable(&ctx, index, log, err, &mut writer, &mut out);
                    continue;
                }
            };
            if let Some((id, stage)) = event.dedup_key()
                && !seen.insert((within(&log.message, id), within(&log.message, stage)))
            {
                out.counters.duplicates += 1;
                continue;
            }
            let t = sw.start();
            let keep = self.filter.matches(&event);
            sw.stop(Stage::Filter, t);
            if !keep {
                out.counters.filtered += 1;
                continue;
            }
            let t = sw.start();
            let redacted = redact::redact_audit_event(event);
            sw.stop(Stage::Redact, t);
            let (event, redacted) = match redacted {
                Ok(r) => r,
                Err(err) => {
                    archive_unparseable(&ctx, index, log, err, &mut writer, &mut out);
                    continue;
                }
            };
            let t = sw.start();
            let mut en = enrich::enrich(&event, &ctx, log, &self.ip_intel);
            out.counters.redacted_values += redacted.len() as u64;
            en.redacted = redacted;
            sw.stop(Stage::Enrich, t);
            let t = sw.start();
            bursts.observe(&event, &en);
            let findings = detect::detect(
                &self.rules,
                self.options.rule_matching,
                &event,
                &en,
                &rule_memo,
            );
            en.detections = detect::detection_refs(&findings);
            for f in &findings {
                *out.counters.findings.entry(f.severity).or_default() += 1;
            }
            out.findings.extend(findings);
            sw.stop(Stage::Detect, t);
            let t = sw.start();
            writer.record(|buf| event.write_archive_line(ENRICHMENT_KEY, &en, buf));
            sw.stop(Stage::Serialise, t);
            let t = sw.start();
            writer.flush_if_full().expect("in-memory write");
            sw.stop(Stage::Compress, t);
            out.counters.kept += 1;
        }
        let batch_findings = bursts.finish();
        for f in &batch_findings {
            *out.counters.findings.entry(f.severity).or_default() += 1;
        }
        out.findings.extend(batch_findings);
        if writer.records() > 0 {
            let first = &data.log_events[0];
            let key = ArchiveKey::for_batch(
                &self.options.archive_prefix,
                &ctx.cluster,
                first.timestamp,
                &ctx.log_stream,
                &first.id,
                self.options.archive_codec,
            );
            let records = writer.records();
            out.counters.archive_raw_bytes = writer.raw_bytes();
            let t = sw.start();
            let body = writer.finish().expect("in-memory gzip");
            sw.stop(Stage::Compress, t);
            out.counters.archive_objects = 1;
            out.counters.archive_compressed_bytes = body.len() as u64;
            out.archive = Some(ArchiveObject {
                key,
                body,
                records,
                codec: self.options.archive_codec,
            });
        }
        out.context = Some(ctx);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter_pattern::LACEWORK_PATTERN;
    use decode::LogEvent;

    /// One request's `ResponseComplete` delivered twice in a batch (once with its ID spelled
    /// with an escape) is kept once; its other stage and another request are kept.
    #[test]
    fn a_repeated_request_stage_is_counted_as_a_duplicate() {
        let event = |id: &str, stage: &str| {
            format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"{id}","stage":"{stage}","requestURI":"/api/v1/pods","verb":"list","user":{{"username":"alice"}},"stageTimestamp":"2026-11-25T10:00:00.000000Z"}}"#
            )
        };
        let messages = [
            event("a-1", "ResponseComplete"),
            event("a-1", "ResponseComplete"),
            event(r"\u0061-1", "ResponseComplete"),
            event("a-1", "ResponseStarted"),
            event("b-2", "ResponseComplete"),
        ];
        let data = LogsData {
            message_type: decode::DATA_MESSAGE.to_string(),
            log_group: "/aws/eks/c/cluster".to_string(),
            log_stream: "kube-apiserver-audit-x".to_string(),
            log_events: messages
                .iter()
                .enumerate()
                .map(|(i, m)| LogEvent {
                    id: i.to_string(),
                    timestamp: 0,
                    message: m.clone(),
                })
                .collect(),
            ..Default::default()
        };
        let pipeline = Pipeline::new(
            FilterPattern::parse(LACEWORK_PATTERN).unwrap(),
            RuleSet::builtin(),
            PipelineOptions::default(),
        );
        let c = pipeline.process_logs(&data).counters;
        assert_eq!((c.kept, c.duplicates, c.filtered), (2, 2, 1), "{c:?}");
    }

    #[test]
    fn within_borrows_a_slice_and_copies_anything_else() {
        let whole = String::from(r#"{"auditID":"abc"}"#);
        let part = &whole[12..15];
        assert!(matches!(within(&whole, part), Cow::Borrowed("abc")));
        let elsewhere = String::from("abc");
        assert!(matches!(within(&whole, &elsewhere), Cow::Owned(s) if s == "abc"));
    }
}
