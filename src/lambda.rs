//! The Lambda edge: configuration, SDK clients and the compiled rule set are built once
//! at cold start and lent to the handler for every batch.

use std::time::Instant;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

use crate::alert::rules_load_failure;
use crate::config::{Config, RulesLocation, TrustRoots};
use crate::deliver::{DeliveryError, DeliveryOptions, deliver, log_line};
use crate::pipeline::Pipeline;
use crate::rules::{RuleSet, RuleSource};
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
        // The payload arrives parsed; it is re-serialised only if it must be quarantined.
        let mut outcome = self.pipeline.process_payload(payload, &[], now_ms);
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

/// Reads the custom rule files (package paths or S3 objects).
async fn read_rules(
    locations: &[RulesLocation],
    s3: &aws_sdk_s3::Client,
) -> Result<Vec<RuleSource>, (String, String)> {
    let mut out = Vec::new();
    for loc in locations {
        let text = match loc {
            RulesLocation::Path(p) => std::fs::read_to_string(p).map_err(|e| e.to_string()),
            RulesLocation::S3 { bucket, key } => {
                match s3.get_object().bucket(bucket).key(key).send().await {
                    Ok(obj) => obj
                        .body
                        .collect()
                        .await
                        .map_err(|e| e.to_string())
                        .and_then(|b| {
                            String::from_utf8(b.into_bytes().to_vec()).map_err(|e| e.to_string())
                        }),
                    Err(e) => Err(aws_sdk_s3::error::DisplayErrorContext(&e).to_string()),
                }
            }
        }
        .map_err(|e| (loc.to_string(), format!("cannot read: {e}")))?;
        out.push(RuleSource {
            name: loc.to_string(),
            text,
        });
    }
    Ok(out)
}

/// The built-in pack plus the custom files. A custom file that cannot be read or loaded
/// must not stop the function: it falls back to the built-in pack and reports why.
pub async fn load_rules(
    locations: &[RulesLocation],
    s3: &aws_sdk_s3::Client,
) -> (RuleSet, Option<(String, String)>) {
    if locations.is_empty() {
        return (RuleSet::builtin(), None);
    }
    let loaded = match read_rules(locations, s3).await {
        Ok(sources) => RuleSet::load_with_builtin(true, sources).map_err(|e| {
            let file = e
                .errors
                .first()
                .map(|d| d.file.clone())
                .unwrap_or_else(|| locations[0].to_string());
            (file, e.to_string())
        }),
        Err(e) => Err(e),
    };
    match loaded {
        Ok((set, warnings)) => {
            for w in warnings {
                println!(
                    "{}",
                    json!({"level": "warn", "msg": "rules warning", "warning": w})
                );
            }
            (set, None)
        }
        Err(failure) => (RuleSet::builtin(), Some(failure)),
    }
}

/// The SDK's HTTPS client, trusting root certificates compiled into the binary instead of
/// reading the system store: reading and PEM-decoding the CA bundle — and, where it exists,
/// the hashed certificate directory too — was a quarter of the cold start's CPU. Which
/// roots is [`TrustRoots`]'s choice: on AWS's own endpoints the five of Amazon Trust
/// Services; the SDK takes a trust store as PEM only and copies it at client creation (all
/// of Mozilla's ~120 roots are 175 KB, 45 pages to fault in, ~0.08 ms of a 1.5 ms cold
/// start), and parses every root when the first connection is made. `build.rs` writes both
/// sets out as PEM.
fn https_client(roots: TrustRoots) -> aws_sdk_s3::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let trust = tls::TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(roots_pem(roots).as_bytes());
    let context = tls::TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("a static trust store");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// The HTTPS client minus the SDK's eager connector check. Building an SDK client (S3, SNS,
/// and the STS client inside the default credentials chain) calls the HTTP client's
/// `validate_base_client_config`, which for the SDK's client builds a TLS connector — the
/// whole trust store parsed — and throws it away; the connector requests use is built on
/// first use and cached either way. Leaving the check out removes only those throwaway
/// builds, which were the largest piece of the cold start's own CPU.
#[derive(Debug)]
struct WithoutEagerConnector(aws_sdk_s3::config::SharedHttpClient);

impl aws_sdk_s3::config::HttpClient for WithoutEagerConnector {
    fn http_connector(
        &self,
        settings: &aws_smithy_runtime_api::client::http::HttpConnectorSettings,
        components: &aws_sdk_s3::config::RuntimeComponents,
    ) -> aws_smithy_runtime_api::client::http::SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &aws_sdk_s3::config::RuntimeComponents,
        cfg: &aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// The SDK configuration (also used by `examples/sdk_lambda.rs`, the bench's reference for
/// what the SDK alone costs a cold start). Where the environment holds the credentials and
/// the region — always, inside Lambda — they are read from it directly: the default chains
/// would take them from the same variables first, but building the chains builds every
/// other provider too (profile files, web identity with its own STS client, ECS, IMDS).
pub async fn sdk_config(roots: TrustRoots) -> aws_config::SdkConfig {
    let mut loader = aws_config::from_env().http_client(aws_sdk_s3::config::SharedHttpClient::new(
        WithoutEagerConnector(https_client(roots)),
    ));
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Ok(region) = std::env::var("AWS_REGION")
        && !region.is_empty()
    {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader.load().await
}

/// Mozilla's root certificates (`webpki-root-certs`) as one PEM text, written by `build.rs`.
const MOZILLA_ROOTS_PEM: &str = include_str!(concat!(env!("OUT_DIR"), "/mozilla-roots.pem"));
/// Amazon Trust Services' five roots, taken from the same set by `build.rs`.
const AMAZON_ROOTS_PEM: &str = include_str!(concat!(env!("OUT_DIR"), "/amazon-roots.pem"));

fn roots_pem(roots: TrustRoots) -> &'static str {
    match roots {
        TrustRoots::Amazon => AMAZON_ROOTS_PEM,
        TrustRoots::Mozilla => MOZILLA_ROOTS_PEM,
    }
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
    let aws = sdk_config(config.tls_roots).await;
    // Path-style addressing when pointed at a local endpoint (moto, MinIO, LocalStack).
    let s3_conf = aws_sdk_s3::config::Builder::from(&aws)
        .force_path_style(crate::config::endpoint_configured(
            &|k: &str| std::env::var(k).ok(),
            "S3",
        ))
        .build();
    let s3 = aws_sdk_s3::Client::from_conf(s3_conf);
    let (rules, rules_failure) = load_rules(&config.rules_files, &s3).await;
    let alerts = SnsAlerts::new(aws_sdk_sns::Config::new(&aws), &config.alert_topic_arn);
    if let Some((file, error)) = &rules_failure {
        let cluster = config
            .pipeline
            .default_cluster
            .as_deref()
            .unwrap_or("unknown");
        println!(
            "{}",
            json!({"level": "error", "msg": "custom rules not loaded; running the built-in pack",
                   "file": file, "error": error})
        );
        // One alert per cold start; if even that fails, the log line above remains.
        if let Err(e) = alerts
            .publish(&rules_load_failure(cluster, file, error))
            .await
        {
            println!(
                "{}",
                json!({"level": "error", "msg": "rules failure alert not sent", "error": e.to_string()})
            );
        }
    }
    let app = App {
        pipeline: Pipeline::new(config.filter.clone(), rules, config.pipeline.clone()),
        archive: S3Archive::new(s3, &config.archive_bucket),
        alerts,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    fn read(pem: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn names_in(der: &[u8], names: &[&str]) -> usize {
        names
            .iter()
            .filter(|n| der.windows(n.len()).any(|w| w == n.as_bytes()))
            .count()
    }

    /// Each PEM handed to the SDK reads back, with the parser the SDK uses, as the roots
    /// it stands for: Mozilla's whole set, and of it exactly Amazon Trust Services' five.
    #[test]
    fn the_trust_stores_are_the_compiled_in_roots() {
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS;
        let mozilla = read(roots_pem(TrustRoots::Mozilla));
        assert!(roots.len() > 100, "{} roots", roots.len());
        assert_eq!(mozilla.len(), roots.len());
        assert!(
            mozilla
                .iter()
                .zip(roots)
                .all(|(a, b)| a.as_ref() == b.as_ref())
        );

        // The roots amazontrust.com lists, by the names in their DER subjects.
        let ats = [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ];
        let amazon = read(roots_pem(TrustRoots::Amazon));
        assert_eq!(amazon.len(), 5);
        for name in ats {
            let holding = amazon.iter().filter(|c| names_in(c, &[name]) == 1).count();
            assert_eq!(holding, 1, "{name}");
        }
        assert!(amazon.iter().all(|c| roots.contains(c)));
        // Every other root of the set is left out.
        let others = roots.iter().filter(|c| !amazon.contains(c));
        assert!(others.into_iter().all(|c| names_in(c, &ats) == 0));

        // The SDK builds its TLS connector from either (at client creation) without
        // complaint.
        for trust in [TrustRoots::Amazon, TrustRoots::Mozilla] {
            let conf = aws_sdk_s3::Config::builder()
                .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
                .region(aws_sdk_s3::config::Region::new("us-east-1"))
                .http_client(https_client(trust))
                .build();
            let _ = aws_sdk_s3::Client::from_conf(conf);
        }
    }
}
