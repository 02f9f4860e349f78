//! End to end on real components: the binary under `cargo lambda watch`, invoked with
//! `cargo lambda invoke --data-file events/…`, writing to S3 and publishing to SNS on a
//! moto server, with the alerts read back from an SQS queue subscribed to the topic.

mod common;

use std::collections::BTreeSet;
use std::io::Read;

use common::{LambdaWatch, Moto, manifest_dir};
use serde_json::Value;

const BUCKET: &str = "audit-archive";
const QUEUE: &str = "oncall";

struct Alert {
    subject: String,
    body: String,
    severity: String,
    rule_id: String,
    cluster: String,
}

struct Env {
    moto: Moto,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    topic_arn: String,
}

async fn env() -> Env {
    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let s3 = moto.s3().await;
    let sns = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create bucket");
    let topic_arn = sns
        .create_topic()
        .name("eks-alerts")
        .send()
        .await
        .expect("topic")
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name(QUEUE)
        .send()
        .await
        .expect("queue")
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:us-east-1:123456789012:{QUEUE}");
    sns.subscribe()
        .topic_arn(&topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe queue to topic");
    Env {
        moto,
        s3,
        sqs,
        queue_url,
        topic_arn,
    }
}

impl Env {
    /// The function's environment against this moto server, plus `extra`.
    fn function_env(&self, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("ARCHIVE_BUCKET", BUCKET.to_string()),
            ("ALERT_TOPIC_ARN", self.topic_arn.clone()),
            ("AWS_ENDPOINT_URL", self.moto.endpoint()),
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test".into()),
            ("AWS_REGION", "us-east-1".into()),
        ];
        vars.extend_from_slice(extra);
        vars
    }

    async fn keys(&self) -> BTreeSet<String> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .expect("list");
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    async fn get(&self, key: &str) -> Vec<u8> {
        let out = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .expect("get");
        out.body
            .collect()
            .await
            .expect("body")
            .into_bytes()
            .to_vec()
    }

    /// Everything delivered to the queue so far, as an SNS subscriber sees it.
    async fn drain_alerts(&self) -> Vec<Alert> {
        let mut alerts = Vec::new();
        loop {
            let out = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("receive");
            let msgs = out.messages();
            if msgs.is_empty() {
                return alerts;
            }
            for m in msgs {
                let env: Value = serde_json::from_str(m.body().unwrap()).expect("SNS envelope");
                let attr = |k: &str| {
                    env["MessageAttributes"][k]["Value"]
                        .as_str()
                        .unwrap_or("")
                        .to_string()
                };
                alerts.push(Alert {
                    subject: env["Subject"].as_str().unwrap_or("").to_string(),
                    body: env["Message"].as_str().unwrap_or("").to_string(),
                    severity: attr("severity"),
                    rule_id: attr("rule_id"),
                    cluster: attr("cluster"),
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .expect("delete");
            }
        }
    }
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_string(&mut s)
        .expect("gzip NDJSON");
    s
}

fn invoke(watch: &LambdaWatch, event: &str) -> Value {
    let path = manifest_dir().join("events").join(event);
    let (ok, stdout, stderr) = watch.invoke(&path);
    assert!(
        ok,
        "invoke {event} failed:\n{stdout}\n{stderr}\n--- watch log ---\n{}",
        watch.log_text()
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{event}: response is not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_end_to_end_on_moto_and_cargo_lambda_watch() {
    let env = env().await;
    let watch = LambdaWatch::start(&env.function_env(&[]));

    // 1. A realistic mixed batch: one archive object, enriched and redacted.
    let resp = invoke(&watch, "mixed-batch.json");
    let c = &resp["counters"];
    assert_eq!(c["received"], 41, "{resp}");
    assert_eq!(c["duplicates"], 1, "{resp}");
    assert_eq!(c["unparseable"], 1, "{resp}");
    assert!(c["filtered"].as_u64().unwrap() >= 4, "{resp}");
    let received = c["received"].as_u64().unwrap();
    let accounted = ["kept", "filtered", "duplicates", "unparseable"]
        .iter()
        .map(|k| c[*k].as_u64().unwrap())
        .sum::<u64>();
    assert_eq!(
        received, accounted,
        "every event is kept, filtered, a duplicate or unparseable: {resp}"
    );
    let keys = env.keys().await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = keys.iter().next().unwrap().clone();
    assert!(
        key.starts_with(
            "audit/cluster=prod-eu-1/dt=2026-11-24/hour=10/kube-apiserver-audit-8f3a1c2b9d4e5f60/"
        ) && key.ends_with(".ndjson.gz"),
        "{key}"
    );
    assert_eq!(resp["archive"], format!("s3://{BUCKET}/{key}"));
    let first_object = env.get(&key).await;
    let text = gunzip(&first_object);
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("NDJSON line"))
        .collect();
    assert_eq!(
        lines.len() as u64,
        c["kept"].as_u64().unwrap() + 1,
        "kept events plus the raw unparseable one"
    );
    for secret in [
        "S3cr3t-Passw0rd!",
        "UzNjcjN0",
        "cGF5bWVudHNfYXBw",
        "cG9zdGdyZXM6",
        "eyJhbGciOi",
    ] {
        assert!(!text.contains(secret), "archive leaks {secret}");
    }
    let secret_create = lines
        .iter()
        .find(|l| l["objectRef"]["resource"] == "secrets" && l["verb"] == "create")
        .expect("the secret create is archived");
    assert!(
        secret_create["requestObject"]["data"]["password"]
            .as_str()
            .unwrap()
            .starts_with("<redacted sha256:")
    );
    let alice = lines
        .iter()
        .find(|l| {
            l["user"]["username"]
                .as_str()
                .unwrap_or("")
                .contains("alice")
        })
        .expect("a human event");
    let en = &alice["eaw"];
    assert_eq!(en["cluster"], "prod-eu-1");
    assert_eq!(en["account"], "111122223333");
    assert_eq!(en["region"], "us-east-1");
    assert_eq!(en["identity"]["kind"], "iam-role");
    assert!(
        en["identity"]["canonicalArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::111122223333:role/")
    );
    assert_eq!(en["sourceIpClass"], "public");
    assert!(en["cwEventId"].as_str().unwrap().len() == 56);
    let raw = lines
        .iter()
        .find(|l| l["eaw"]["parseError"].is_string())
        .expect("the truncated line is kept");
    assert!(raw["rawMessage"].as_str().unwrap().len() > 1000);
    env.drain_alerts().await; // the mixed batch may raise low findings only; nothing asserted

    // 2. Redelivery: the same batch again leaves one identical object.
    invoke(&watch, "mixed-batch.json");
    assert_eq!(
        env.keys().await,
        keys,
        "a redelivered batch must overwrite its own object"
    );
    assert_eq!(env.get(&key).await, first_object, "same batch, same bytes");
    env.drain_alerts().await;

    // 3. CONTROL_MESSAGE: acknowledged, nothing written.
    let resp = invoke(&watch, "control-message.json");
    assert_eq!(resp["counters"]["control_messages"], 1);
    assert_eq!(env.keys().await, keys, "a control message writes nothing");
    assert!(env.drain_alerts().await.is_empty());

    // 4. A malformed payload is quarantined and the invocation succeeds.
    let resp = invoke(&watch, "malformed-payload.json");
    assert_eq!(resp["counters"]["quarantined_payloads"], 1, "{resp}");
    let quarantined: Vec<String> = env
        .keys()
        .await
        .into_iter()
        .filter(|k| k.starts_with("quarantine/"))
        .collect();
    assert_eq!(quarantined.len(), 1, "{quarantined:?}");
    assert!(quarantined[0].contains("bad-gzip"), "{quarantined:?}");
    let q: Value = serde_json::from_slice(&env.get(&quarantined[0]).await).unwrap();
    assert_eq!(q["reason"], "bad-gzip");
    assert!(
        q["payload"].as_str().unwrap().contains("H4sIAAAAAAAA"),
        "the raw payload is kept"
    );

    // 5. Detections reach on-call through SNS with attributes a filter policy can use.
    let cases: &[(&str, &[&str], &str)] = &[
        ("aws-auth-change.json", &["EKS-001"], "critical"),
        (
            "exec-kube-system.json",
            &["EKS-023", "EKS-024", "EKS-025", "EKS-026"],
            "high",
        ),
        (
            "privileged-pod.json",
            &["EKS-032", "EKS-033", "EKS-034"],
            "high",
        ),
        ("anonymous-allowed.json", &["EKS-002"], "high"),
        (
            "cluster-admin-binding.json",
            &["EKS-004", "EKS-005"],
            "high",
        ),
    ];
    for (event, rule_ids, top_severity) in cases {
        let resp = invoke(&watch, event);
        let alerts = env.drain_alerts().await;
        let got: BTreeSet<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
        for id in *rule_ids {
            assert!(
                got.contains(id),
                "{event}: expected an alert for {id}, got {got:?}"
            );
        }
        assert_eq!(
            resp["alerts_sent"].as_u64().unwrap() as usize,
            alerts.len(),
            "{event}"
        );
        let archive = resp["archive"].as_str().unwrap();
        let top = alerts
            .iter()
            .max_by_key(|a| {
                ["info", "low", "medium", "high", "critical"]
                    .iter()
                    .position(|s| *s == a.severity)
            })
            .unwrap();
        assert_eq!(top.severity, *top_severity, "{event}");
        for a in &alerts {
            assert_eq!(a.cluster, "prod-eu-1");
            assert!(
                a.subject.len() < 100 && a.subject.is_ascii(),
                "{}",
                a.subject
            );
            assert!(
                a.subject
                    .starts_with(&format!("[{}] ", a.severity.to_uppercase())),
                "{}",
                a.subject
            );
            assert!(a.subject.contains(" on prod-eu-1 by "), "{}", a.subject);
            for section in ["WHO", "WHERE", "WHEN", "FROM", "WHY IT MATTERS", "EVIDENCE"] {
                assert!(
                    a.body.contains(section),
                    "{event}: body lacks {section}:\n{}",
                    a.body
                );
            }
            assert!(
                a.body.contains(archive),
                "{event}: body lacks the archive URI {archive}"
            );
            assert!(!a.body.contains("eyJhbGciOi"));
        }
    }
    let auth = {
        invoke(&watch, "aws-auth-change.json");
        env.drain_alerts().await
    };
    let a = auth.iter().find(|a| a.rule_id == "EKS-001").unwrap();
    assert!(a.subject.starts_with("[CRITICAL] "), "{}", a.subject);
    assert!(
        a.body.contains("arn:aws:sts::111122223333:assumed-role/"),
        "{}",
        a.body
    );
    assert!(a.body.contains("kube-system/aws-auth"), "{}", a.body);
    assert!(
        a.body.contains("system:masters"),
        "the alert shows the mapRoles the request sets:\n{}",
        a.body
    );
}

/// FIFO topics: the group id and deduplication id make a redelivered batch page once.
#[tokio::test]
async fn fifo_topic_deduplicates_a_redelivered_alert() {
    use eks_audit_watch::alert::{AlertContext, build_alerts};
    use eks_audit_watch::sinks::AlertSink;
    use eks_audit_watch::sinks::sns::SnsAlerts;

    let moto = Moto::start();
    let conf = moto.sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let topic = sns
        .create_topic()
        .name("alerts.fifo")
        .attributes("FifoTopic", "true")
        .send()
        .await
        .expect("fifo topic")
        .topic_arn
        .unwrap();
    let queue_url = sqs
        .create_queue()
        .queue_name("pager.fifo")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("fifo queue")
        .queue_url
        .unwrap();
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:pager.fifo")
        .send()
        .await
        .expect("subscribe");

    let payload: Value = serde_json::from_slice(
        &std::fs::read(manifest_dir().join("events/aws-auth-change.json")).unwrap(),
    )
    .unwrap();
    let pipeline = eks_audit_watch::pipeline::Pipeline::new(
        eks_audit_watch::filter_pattern::FilterPattern::parse(
            eks_audit_watch::filter_pattern::LACEWORK_PATTERN,
        )
        .unwrap(),
        eks_audit_watch::rules::RuleSet::builtin(),
        Default::default(),
    );
    let outcome = pipeline.process_payload(&payload, b"", 0);
    let alerts = build_alerts(
        &outcome.findings,
        eks_audit_watch::severity::Severity::Medium,
        &AlertContext::default(),
    );
    assert!(!alerts.is_empty());
    let sink = SnsAlerts::new(sns.config().clone(), &topic);
    for _ in 0..2 {
        for a in &alerts {
            sink.publish(a).await.expect("publish to FIFO topic");
        }
    }
    let out = sqs
        .receive_message()
        .queue_url(&queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.messages().len(),
        alerts.len(),
        "each alert delivered once despite two publishes"
    );
}

/// RULES_FILES from S3: a team's rule fires in the Lambda; a broken file does not stop the
/// function — it archives and runs the built-in pack, and sends one alert naming the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_rules_from_s3_and_fallback_when_broken() {
    let env = env().await;
    let put = |key: &'static str, path: &'static str| {
        let s3 = env.s3.clone();
        async move {
            let body = std::fs::read(manifest_dir().join(path)).unwrap();
            s3.put_object()
                .bucket(BUCKET)
                .key(key)
                .body(body.into())
                .send()
                .await
                .expect("put rules");
        }
    };
    put("rules/team.yaml", "tests/data/custom/team-rules.yaml").await;
    put("rules/broken.yaml", "tests/data/custom/broken-rules.yaml").await;

    // A Lambda payload with one namespace deletion, built as CloudWatch would.
    let event = std::fs::read_to_string(
        manifest_dir().join("tests/data/custom/fixtures/TEAM-001/positive-1.json"),
    )
    .unwrap();
    let data = eks_audit_watch::pipeline::decode::LogsData {
        message_type: "DATA_MESSAGE".into(),
        owner: "111122223333".into(),
        log_group: "/aws/eks/prod-eu-1/cluster".into(),
        log_stream: "kube-apiserver-audit-0123456789abcdef".into(),
        subscription_filters: vec!["eks-audit-watch".into()],
        log_events: vec![eks_audit_watch::pipeline::decode::LogEvent {
            id: "37960143000000000000000000000000000000000000000000000001".into(),
            timestamp: 1_795_516_200_000,
            message: event.trim().to_string(),
        }],
    };
    let dir = tempfile::tempdir().unwrap();
    let payload = dir.path().join("namespace-delete.json");
    std::fs::write(
        &payload,
        eks_audit_watch::pipeline::decode::encode_payload(&data).to_string(),
    )
    .unwrap();

    let base = |rules: &str| {
        env.function_env(&[
            ("CLUSTER_NAME", "prod-eu-1".into()),
            ("RULES_FILES", rules.to_string()),
        ])
    };
    {
        let watch = LambdaWatch::start(&base(&format!("s3://{BUCKET}/rules/team.yaml")));
        let (ok, out, err) = watch.invoke(&payload);
        assert!(ok, "{out}{err}\n{}", watch.log_text());
        let alerts = env.drain_alerts().await;
        let team = alerts
            .iter()
            .find(|a| a.rule_id == "TEAM-001")
            .unwrap_or_else(|| panic!("no TEAM-001 alert: {}", watch.log_text()));
        assert_eq!(team.severity, "high");
        assert!(team.body.contains("namespace prod-payments deleted by arn:aws:sts::111122223333:assumed-role/Developer/bob"), "{}", team.body);
    }
    {
        let watch = LambdaWatch::start(&base(&format!(
            "s3://{BUCKET}/rules/team.yaml,s3://{BUCKET}/rules/broken.yaml"
        )));
        let resp = invoke(&watch, "exec-kube-system.json");
        assert!(
            resp["archive"].as_str().unwrap().starts_with("s3://"),
            "still archives: {resp}"
        );
        let alerts = env.drain_alerts().await;
        let failure = alerts
            .iter()
            .find(|a| a.rule_id == "EKS-RULES-LOAD")
            .unwrap_or_else(|| panic!("no rules-load alert; log:\n{}", watch.log_text()));
        assert!(
            failure
                .subject
                .contains("Custom rules not loaded on prod-eu-1"),
            "{}",
            failure.subject
        );
        assert!(
            failure
                .body
                .contains("s3://audit-archive/rules/broken.yaml")
                && failure.body.contains("ka.no.such.field"),
            "{}",
            failure.body
        );
        assert!(
            alerts.iter().any(|a| a.rule_id == "EKS-024"),
            "the built-in pack still runs"
        );
        assert!(!alerts.iter().any(|a| a.rule_id == "TEAM-001"));
        assert_eq!(
            alerts
                .iter()
                .filter(|a| a.rule_id == "EKS-RULES-LOAD")
                .count(),
            1
        );
    }
}

/// The bench's memory probe drives the built function — Lambda mode, a local Runtime API,
/// S3 and SNS on its own moto server — through several deliveries of a real payload, each
/// answered as a success, and reads the function's peak RSS between them.
#[test]
fn bench_memory_probe_runs_the_function_through_deliveries() {
    let payload = std::fs::read(manifest_dir().join("events/mixed-batch.json")).unwrap();
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_eks-audit-watch"));
    let m = eks_audit_watch::bench::function_memory::probe(exe, &payload, 3)
        .unwrap_or_else(|e| panic!("probe: {e}"));
    assert_eq!(m.invocations, 3);
    assert!(m.after_one_mb > 1.0, "{m:?}");
    assert!(m.after_all_mb >= m.after_one_mb, "{m:?}");
}
