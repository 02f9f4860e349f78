//! The Lambda edge: configuration, SDK clients and the compiled rule set are built once
//! at cold start and lent to the handler for every batch.

use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::config::Config;
use crate::deliver::{DeliveryError, DeliveryOptions, deliver, log_line};
use crate::pipeline::Pipeline;
use crate::rules::RuleSet;
use crate::sinks::s3::S3Archive;
use crate::sinks::sns::SnsAlerts;
use crate::sinks::{AlertSink, ArchiveSink};

/// Everything a warm container reuses between invocations.
pub struct App<A, N> {
    pub pipeline: Pipeline,
    pub archive: A,
    pub alerts: N,
    pub delivery: DeliveryOptions,
}

impl<A: ArchiveSink, N: AlertSink> App<A, N> {
    /// One batch. Undecodable payloads are quarantined and succeed (a retry cannot fix
    /// them); a failed archive or alert write fails the invocation so Lambda retries.
    pub async fn handle(
        &self,
        payload: &Value,
        request_id: &str,
        now_ms: i64,
    ) -> Result<Value, Error> {
        let started = Instant::now();
        let raw = serde_json::to_vec(payload)?;
        let mut outcome = self.pipeline.process_payload(payload, &raw, now_ms);
        let result = deliver(&mut outcome, &self.archive, &self.alerts, &self.delivery).await;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(delivery) => {
                let level = if outcome.quarantine.is_some() {
                    "warn"
                } else {
                    "info"
                };
                println!(
                    "{}",
                    log_line(level, request_id, &outcome, Some(&delivery), None, ms)
                );
                Ok(json!({
                    "counters": outcome.counters,
                    "archive": delivery.archive_location,
                    "quarantine": delivery.quarantine_location,
                    "alerts_sent": delivery.alerts_sent,
                }))
            }
            Err(err) => {
                let delivery = match &err {
                    DeliveryError::Alerts { delivery, .. } => Some(delivery.as_ref()),
                    _ => None,
                };
                let text = err.to_string();
                println!(
                    "{}",
                    log_line("error", request_id, &outcome, delivery, Some(&text), ms)
                );
                Err(text.into())
            }
        }
    }
}

fn endpoint_overridden(service: &str) -> bool {
    std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os(format!("AWS_ENDPOINT_URL_{service}")).is_some()
}

/// Cold start, then serve invocations until the runtime stops us.
pub async fn run() -> Result<(), Error> {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            // One line, naming the variable; Lambda reports the init failure.
            eprintln!("eks-audit-watch: configuration error: {e}");
            std::process::exit(1);
        }
    };
    let aws = aws_config::load_from_env().await;
    // Path-style addressing when pointed at a local endpoint (moto, MinIO, LocalStack).
    let s3_conf = aws_sdk_s3::config::Builder::from(&aws)
        .force_path_style(endpoint_overridden("S3"))
        .build();
    let app = App {
        pipeline: Pipeline::new(
            config.filter.clone(),
            RuleSet::builtin(),
            config.pipeline.clone(),
        ),
        archive: S3Archive::new(
            aws_sdk_s3::Client::from_conf(s3_conf),
            &config.archive_bucket,
        ),
        alerts: SnsAlerts::new(aws_sdk_sns::Client::new(&aws), &config.alert_topic_arn),
        delivery: DeliveryOptions {
            min_alert_severity: config.min_alert_severity,
            sample_events: config.alert_sample_events,
        },
    };
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        app.handle(&event.payload, &event.context.request_id, now_ms)
            .await
    }))
    .await
}
