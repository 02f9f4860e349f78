//! Writing one batch's outcome through the sinks, with the project's failure semantics:
//! quarantine or archive first, then alerts; any failure fails the invocation so that
//! Lambda retries (the retry rewrites the same archive key and re-sends the alerts).

use serde::Serialize;

use crate::alert::{AlertContext, build_alerts};
use crate::pipeline::{BatchOutcome, Counters};
use crate::severity::Severity;
use crate::sinks::{AlertSink, ArchiveSink, SinkError};

#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    pub min_alert_severity: Severity,
    pub sample_events: usize,
}

/// What was written, for the invocation's log line and the CLI's summary.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_reason: Option<String>,
    pub alerts_sent: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("quarantine write failed: {0}")]
    Quarantine(SinkError),
    #[error("archive write failed: {0}")]
    Archive(SinkError),
    #[error("{failed} of {total} alerts failed (archive was written): {first}")]
    Alerts {
        failed: usize,
        total: usize,
        first: SinkError,
        delivery: Box<Delivery>,
    },
}

pub async fn deliver<A: ArchiveSink, N: AlertSink>(
    outcome: &mut BatchOutcome,
    archive: &A,
    alerts: &N,
    opts: &DeliveryOptions,
) -> Result<Delivery, DeliveryError> {
    let mut delivery = Delivery::default();
    // The bodies move to the sink (no copy of a multi-megabyte object); the keys stay.
    if let Some(q) = &mut outcome.quarantine {
        archive
            .put_object(&q.key, std::mem::take(&mut q.body), "application/json")
            .await
            .map_err(DeliveryError::Quarantine)?;
        delivery.quarantine_location = Some(archive.location(&q.key));
        delivery.quarantine_reason = Some(q.reason.to_string());
    }
    if let Some(obj) = &mut outcome.archive {
        archive
            .put_object(
                obj.key.as_str(),
                std::mem::take(&mut obj.body),
                obj.codec.content_type(),
            )
            .await
            .map_err(DeliveryError::Archive)?;
        delivery.archive_location = Some(archive.location(obj.key.as_str()));
    }
    let ctx = AlertContext {
        region: outcome
            .context
            .as_ref()
            .map(|c| c.region.clone())
            .unwrap_or_default(),
        archive_uri: delivery.archive_location.clone(),
        sample_events: opts.sample_events,
    };
    let messages = build_alerts(&outcome.findings, opts.min_alert_severity, &ctx);
    let mut failures = Vec::new();
    // Every alert is attempted even if one fails, so a partial outage pages as much as it can.
    for m in &messages {
        match alerts.publish(m).await {
            Ok(()) => delivery.alerts_sent += 1,
            Err(e) => failures.push(e),
        }
    }
    outcome.counters.alerts_sent += delivery.alerts_sent;
    if !failures.is_empty() {
        let failed = failures.len();
        return Err(DeliveryError::Alerts {
            failed,
            total: messages.len(),
            first: failures.swap_remove(0),
            delivery: Box::new(delivery),
        });
    }
    Ok(delivery)
}

/// The one structured log line of an invocation.
pub fn log_line(
    level: &str,
    request_id: &str,
    outcome: &BatchOutcome,
    delivery: Option<&Delivery>,
    error: Option<&str>,
    duration_ms: f64,
) -> String {
    #[derive(Serialize)]
    struct Line<'a> {
        level: &'a str,
        msg: &'static str,
        request_id: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cluster: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        log_stream: Option<&'a str>,
        counters: &'a Counters,
        #[serde(skip_serializing_if = "Option::is_none")]
        delivery: Option<&'a Delivery>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        unparseable: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
        duration_ms: f64,
    }
    let line = Line {
        level,
        msg: "batch processed",
        request_id,
        cluster: outcome.context.as_ref().map(|c| c.cluster.as_str()),
        log_stream: outcome.context.as_ref().map(|c| c.log_stream.as_str()),
        counters: &outcome.counters,
        delivery,
        unparseable: outcome
            .unparseable
            .iter()
            .take(10)
            .map(|u| format!("event {} (id {}): {}", u.index, u.cw_event_id, u.error))
            .collect(),
        error,
        duration_ms: (duration_ms * 1000.0).round() / 1000.0,
    };
    serde_json::to_string(&line).expect("log line serialises")
}
