//! The SAM template validates with cfn-lint, and what CloudWatch drops is what the
//! function drops: its default FilterPattern is the binary's default.

use std::process::Command;

use eks_audit_watch::filter_pattern::LACEWORK_PATTERN;

fn template() -> serde_yaml::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).expect("template.yaml"))
        .expect("template is YAML")
}

#[test]
fn cfn_lint_passes() {
    let out = Command::new("cfn-lint")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/template.yaml"))
        .output()
        .expect("cfn-lint is installed (run the README's set-up command)");
    assert!(
        out.status.success(),
        "cfn-lint failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn default_filter_pattern_is_the_binarys() {
    let t = template();
    assert_eq!(
        t["Parameters"]["FilterPattern"]["Default"].as_str(),
        Some(LACEWORK_PATTERN)
    );
}

#[test]
fn function_is_wired_as_documented() {
    let t = template();
    let f = &t["Resources"]["AuditWatchFunction"]["Properties"];
    assert_eq!(f["Runtime"].as_str(), Some("provided.al2023"));
    assert_eq!(f["Architectures"][0].as_str(), Some("arm64"));
    assert_eq!(
        t["Resources"]["AuditWatchFunction"]["Metadata"]["BuildMethod"].as_str(),
        Some("rust-cargolambda")
    );
    let vars = f["Environment"]["Variables"]
        .as_mapping()
        .expect("env vars");
    for (name, _, _) in eks_audit_watch::config::VARIABLES {
        if *name == "ARCHIVE_GZIP_LEVEL"
            || *name == "ARCHIVE_ZSTD_LEVEL"
            || *name == "RULE_MATCHING"
            || *name == "ALERT_SAMPLE_EVENTS"
            || *name == "TLS_ROOTS"
            || *name == "BATCH_THRESHOLDS"
        {
            continue; // defaults are right for a deployment; settable by hand
        }
        assert!(vars.contains_key(*name), "template does not set {name}");
    }
    let event = &f["Events"]["AuditLogs"];
    assert_eq!(event["Type"].as_str(), Some("CloudWatchLogs"));
    let on_failure = &f["EventInvokeConfig"]["DestinationConfig"]["OnFailure"];
    assert_eq!(on_failure["Type"].as_str(), Some("SQS"));
}
