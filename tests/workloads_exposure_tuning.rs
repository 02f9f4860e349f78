//! The allow-list and detection hooks of `rules/eks-workloads-exposure.yaml` work as its
//! comments say when a user file amends them (fixtures: `tests/data/rules/EKS-0NN/`).

use eks_audit_watch::rules::{EventView, RuleMatching, RuleSet, RuleSource};
use serde_json::Value;
use std::path::Path;

const USER: &str = r#"
- list: eaw_workloads_allowed_image_registries
  items: [111122223333.dkr.ecr.eu-west-1.amazonaws.com, docker.io/library]
  append: true
- macro: eaw_workloads_enforce_image_registries
  condition: (ka.auditid exists)
  override:
    condition: replace
- macro: eaw_workloads_offensive_image_name
  condition: or eaw.pod.image.repository icontains netshoot
  append: true
- list: eaw_workloads_hostnetwork_allowed_namespaces
  items: [monitoring]
  append: true
- list: eaw_workloads_offensive_user_agents
  items: [k9s]
  append: true
- list: eaw_workloads_bad_source_ips
  items: [203.0.113.10]
  append: true
- list: eaw_workloads_node_deleters
  items: [arn:aws:sts::111122223333:assumed-role/Admin/alice]
  append: true
"#;

fn fired(set: &RuleSet, case: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/rules")
        .join(case);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    set.evaluate(
        &EventView {
            event: &v["event"],
            enrichment: v.get("enrichment").map(|e| e as _),
        },
        RuleMatching::All,
    )
    .into_iter()
    .map(|m| set.rules()[m.rule].id.to_string())
    .collect()
}

#[test]
fn user_file_amends_the_workloads_exposure_hooks() {
    let mut sources = RuleSet::builtin_sources();
    sources.push(RuleSource {
        name: "user.yaml".into(),
        text: USER.into(),
    });
    let (tuned, warnings) = RuleSet::load(&sources).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let stock = RuleSet::builtin();
    let has = |set: &RuleSet, case: &str, id: &str| fired(set, case).iter().any(|i| i == id);

    // Registry allow-list: off by default, on once filled and switched on.
    assert!(!has(&stock, "EKS-036/positive-1.json", "EKS-041"));
    assert!(has(&tuned, "EKS-036/positive-1.json", "EKS-041")); // quay.io image
    assert!(!has(&tuned, "EKS-041/negative-1.json", "EKS-041")); // own ECR + docker.io/library
    assert!(!has(&tuned, "EKS-036/negative-1.json", "EKS-041")); // EKS's aws-node
    assert!(!has(&tuned, "EKS-037/positive-3.json", "EKS-041")); // debug container, docker.io/library
    assert!(!has(&tuned, "EKS-037/positive-2.json", "EKS-041")); // init container, docker.io/library
    assert!(has(&tuned, "EKS-038/positive-3.json", "EKS-041")); // bitnami/kubectl
    // Offensive image names and user agents are extensible.
    assert!(!has(&stock, "EKS-041/negative-3.json", "EKS-041"));
    assert!(has(&tuned, "EKS-041/negative-3.json", "EKS-041"));
    assert!(!has(&stock, "EKS-049/negative-3.json", "EKS-049"));
    assert!(has(&tuned, "EKS-049/negative-3.json", "EKS-049"));
    // A user's own indicator list of source addresses.
    assert!(!has(&stock, "EKS-049/negative-1.json", "EKS-049"));
    assert!(has(&tuned, "EKS-049/negative-1.json", "EKS-049"));
    // Allow-lists silence a rule.
    assert!(!has(&tuned, "EKS-036/positive-1.json", "EKS-036"));
    assert!(has(&tuned, "EKS-036/positive-2.json", "EKS-036"));
    assert!(!has(&tuned, "EKS-048/positive-1.json", "EKS-048"));
    assert!(has(&tuned, "EKS-048/positive-2.json", "EKS-048"));
}
