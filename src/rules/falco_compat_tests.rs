//! Falco compatibility: the upstream `k8s_audit_rules.yaml` (k8saudit 0.18.0), unmodified,
//! against our own events in `tests/data/falco/<rule-slug>/`.
//!
//! Each rule's directory holds `positive-*.json` (the rule fires under Falco's semantics) and
//! `negative-*.json` (a near miss: it must not), each `{"event": <audit event>,
//! "enabled_rules_note": "..."}` (the note is optional). A directory may hold `override.yaml`,
//! a user rules file loaded after the upstream one for that directory's cases, as a Falco user
//! would tune a rule that upstream leaves inert (a macro that is always/never true, an empty
//! allow-list).
//!
//! The upstream file is reference data outside the crate; every test here prints a note and
//! passes when it is absent (see `tests::falco_rules_path`).

use super::tests::falco_rules_path;
use super::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/falco")
}

/// The upstream file, or `None` (with a printed note) when it is not here.
fn upstream() -> Option<RuleSource> {
    let Some(path) = falco_rules_path() else {
        println!("note: Falco k8s_audit_rules.yaml not found (set FALCO_RULES); test skipped");
        return None;
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(RuleSource {
        name: path.to_string_lossy().into_owned(),
        text,
    })
}

/// Lowercase, every run of non-alphanumerics → one `-`, no `-` at the ends.
fn slug(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-').to_string()
}

/// The rule names (in file order) and the macro and list counts, read from the YAML itself
/// rather than through the engine.
fn upstream_items(text: &str) -> (Vec<String>, usize, usize) {
    let doc: serde_yaml::Value = serde_yaml::from_str(text).expect("upstream YAML");
    let items = doc.as_sequence().expect("a YAML list");
    let named = |key: &str| -> Vec<String> {
        items
            .iter()
            .filter_map(|i| i.get(key).and_then(serde_yaml::Value::as_str))
            .map(str::to_string)
            .collect()
    };
    (named("rule"), named("macro").len(), named("list").len())
}

fn load_clean(sources: &[RuleSource]) -> RuleSet {
    let (set, warnings) = match RuleSet::load(sources) {
        Ok(r) => r,
        Err(e) => panic!("load failed:\n{e}"),
    };
    assert!(warnings.is_empty(), "warnings: {warnings:#?}");
    set
}

struct Case {
    file: String,
    positive: bool,
    event: Value,
}

/// A rule's cases and its optional override, as `(cases, override source)`.
fn read_dir(dir: &Path) -> (Vec<Case>, Option<RuleSource>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut ovr = None;
    for f in files {
        let fname = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if fname == "override.yaml" {
            let rel = format!(
                "tests/data/falco/{}/override.yaml",
                dir.file_name().unwrap().to_string_lossy()
            );
            ovr = Some(RuleSource { name: rel, text });
            continue;
        }
        let positive = fname.starts_with("positive-");
        assert!(
            (positive || fname.starts_with("negative-")) && fname.ends_with(".json"),
            "{}: expected positive-*.json, negative-*.json or override.yaml",
            f.display()
        );
        let mut doc: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let obj = doc.as_object_mut().expect("a JSON object");
        for k in obj.keys() {
            assert!(
                k == "event" || k == "enabled_rules_note",
                "{}: unknown key '{k}'",
                f.display()
            );
        }
        let event = obj
            .remove("event")
            .unwrap_or_else(|| panic!("{}: no 'event'", f.display()));
        assert_eq!(event["kind"], "Event", "{}", f.display());
        assert_eq!(event["apiVersion"], "audit.k8s.io/v1", "{}", f.display());
        for k in [
            "auditID",
            "stage",
            "verb",
            "requestURI",
            "user",
            "stageTimestamp",
        ] {
            assert!(
                event.get(k).is_some(),
                "{}: event has no '{k}'",
                f.display()
            );
        }
        cases.push(Case {
            file: fname,
            positive,
            event,
        });
    }
    (cases, ovr)
}

/// `<NA>` a positive's output may show, by (rule slug, case file): fields the event does not
/// carry, so Falco prints `<NA>` too.
const EXPECTED_NA: &[(&str, &str, &[&str])] = &[
    // `kubectl attach` sends no `command` query parameter.
    ("attach-exec-pod", "positive-2.json", &["command"]),
    // A ClusterRole has no namespace.
    (
        "system-clusterrole-modified-deleted",
        "positive-1.json",
        &["ns"],
    ),
    // Ephemeral containers cannot be set when a pod is created.
    (
        "create-privileged-pod",
        "positive-1.json",
        &["ephemeral_images"],
    ),
    (
        "create-privileged-pod",
        "positive-2.json",
        &["ephemeral_images"],
    ),
    (
        "create-privileged-pod",
        "positive-3.json",
        &["init_images", "ephemeral_images"],
    ),
    // Since Kubernetes 1.23 `kubectl debug` sends a strategic-merge patch
    // (`requestObject.spec.ephemeralContainers`), while the upstream output reads the
    // pre-1.23 `EphemeralContainers` object (`requestObject.ephemeralContainers`).
    (
        "ephemeralcontainers-created",
        "positive-1.json",
        &["ephemeral_container_name", "ephemeral_container_image"],
    ),
];

/// The `label` of each `label=<NA>` in an output.
fn na_labels(output: &str) -> Vec<String> {
    output
        .match_indices("<NA>")
        .map(|(i, _)| {
            let before = &output[..i];
            let start = before.rfind([' ', '(']).map_or(0, |p| p + 1);
            before[start..].trim_end_matches('=').to_string()
        })
        .collect()
}

fn names_fired(set: &RuleSet, ev: &Value) -> Vec<RuleMatch> {
    set.evaluate(
        &EventView {
            event: ev,
            enrichment: None,
        },
        RuleMatching::All,
    )
}

#[test]
fn falco_upstream_loads_with_no_errors_or_warnings() {
    let Some(up) = upstream() else { return };
    let (rules, macros, lists) = upstream_items(&up.text);
    assert_eq!((rules.len(), macros, lists), (48, 45, 18));
    let set = load_clean(std::slice::from_ref(&up));
    let loaded: Vec<&str> = set.rules().iter().map(|r| r.name.as_ref()).collect();
    assert_eq!(loaded, rules);
    for r in set.rules() {
        assert!(r.enabled, "{}", r.name);
        assert_eq!(r.id, slug(&r.name), "{}", r.name);
        assert_eq!(r.tags.first().map(AsRef::as_ref), Some("k8s"), "{}", r.name);
    }
}

#[test]
fn falco_upstream_every_rule_has_positive_and_negative_cases() {
    let Some(up) = upstream() else { return };
    let (rules, _, _) = upstream_items(&up.text);
    let mut missing = Vec::new();
    for name in &rules {
        let dir = cases_dir().join(slug(name));
        if !dir.is_dir() {
            missing.push(format!("{name}: no directory {}", dir.display()));
            continue;
        }
        let (cases, _) = read_dir(&dir);
        let pos = cases.iter().filter(|c| c.positive).count();
        let neg = cases.len() - pos;
        if pos == 0 || neg == 0 {
            missing.push(format!("{name}: {pos} positive and {neg} negative cases"));
        }
    }
    let slugs: Vec<String> = rules.iter().map(|n| slug(n)).collect();
    for e in std::fs::read_dir(cases_dir()).unwrap() {
        let d = e.unwrap().file_name().to_string_lossy().into_owned();
        if !slugs.contains(&d) {
            missing.push(format!(
                "tests/data/falco/{d}: no upstream rule has this slug"
            ));
        }
    }
    assert!(
        missing.is_empty(),
        "rules without cases:\n{}",
        missing.join("\n")
    );
}

/// Every case against upstream (+ its override): a positive fires its rule exactly once, a
/// negative does not fire it; positives' outputs are one line and show `<NA>` only for fields
/// the event does not carry.
#[test]
fn falco_upstream_rules_fire_on_their_cases() {
    let Some(up) = upstream() else { return };
    let (rules, _, _) = upstream_items(&up.text);
    let base = load_clean(std::slice::from_ref(&up));
    let mut failures = Vec::new();
    let mut covered = 0;
    for name in &rules {
        let s = slug(name);
        let dir = cases_dir().join(&s);
        if !dir.is_dir() {
            continue; // reported by the coverage test
        }
        let (cases, ovr) = read_dir(&dir);
        let tuned;
        let set = match &ovr {
            Some(o) => {
                tuned = load_clean(&[up.clone(), o.clone()]);
                &tuned
            }
            None => &base,
        };
        let info = set
            .rules()
            .iter()
            .find(|r| &r.name == name)
            .unwrap_or_else(|| panic!("{name}: not loaded"));
        assert!(info.enabled, "{name}: disabled");
        let mut needs_override = false;
        for c in &cases {
            let hits = names_fired(set, &c.event);
            let mine: Vec<&RuleMatch> = hits
                .iter()
                .filter(|m| &set.rules()[m.rule].name == name)
                .collect();
            if !c.positive {
                if !mine.is_empty() {
                    failures.push(format!("{s}/{}: must not fire '{name}'", c.file));
                }
                continue;
            }
            if mine.len() != 1 {
                let all: Vec<&str> = hits
                    .iter()
                    .map(|m| set.rules()[m.rule].name.as_ref())
                    .collect();
                failures.push(format!(
                    "{s}/{}: expected '{name}' once, fired {all:?}",
                    c.file
                ));
                continue;
            }
            let out = &mine[0].output;
            if out.contains('\n') || out.is_empty() {
                failures.push(format!("{s}/{}: bad output {out:?}", c.file));
            }
            let allowed: &[&str] = EXPECTED_NA
                .iter()
                .find(|(r, f, _)| *r == s && *f == c.file)
                .map_or(&[], |e| e.2);
            let na = na_labels(out);
            if na.iter().any(|l| !allowed.contains(&l.as_str())) {
                failures.push(format!(
                    "{s}/{}: <NA> for {na:?} (expected only {allowed:?}) in: {out}",
                    c.file
                ));
            }
            if ovr.is_some()
                && !names_fired(&base, &c.event)
                    .iter()
                    .any(|m| &base.rules()[m.rule].name == name)
            {
                needs_override = true;
            }
        }
        if ovr.is_some() && !needs_override {
            failures.push(format!(
                "{s}: override.yaml is not needed (every positive fires without it)"
            ));
        }
        covered += 1;
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert_eq!(covered, rules.len());
}

/// Outputs as Falco prints them (the k8saudit and json plugins' extraction, libsinsp's
/// formatter: `<NA>` for a missing field, `(a,b)` for a list field, JSON text for objects in
/// the order the event has them).
#[test]
fn falco_upstream_outputs_match_falco() {
    let Some(up) = upstream() else { return };
    let mallory = "arn:aws:sts::111122223333:assumed-role/DevOps/mallory";
    let expected: BTreeMap<(&str, &str), String> = [
        (
            ("attach-exec-pod", "positive-1.json"),
            format!(
                "Attach/Exec to pod (user={mallory} pod=payments-api-7f9c4d8b6-x2k9q resource=pods ns=payments action=exec command=sh)"
            ),
        ),
        (
            ("attach-exec-pod", "positive-2.json"),
            format!(
                "Attach/Exec to pod (user={mallory} pod=payments-api-7f9c4d8b6-x2k9q resource=pods ns=payments action=attach command=<NA>)"
            ),
        ),
        (
            ("disallowed-k8s-user", "positive-1.json"),
            format!(
                "K8s Operation performed by user not in allowed list of users (user={mallory} target=db-credentials/secrets verb=get uri=/api/v1/namespaces/payments/secrets/db-credentials resp=200)"
            ),
        ),
        (
            ("create-disallowed-pod", "positive-1.json"),
            format!(
                "Pod started with container not in allowed list (user={mallory} pod=payments-api-debug ns=payments images=(111122223333.dkr.ecr.eu-west-1.amazonaws.com/payments-api:1.4.2,docker.io/library/busybox:1.36))"
            ),
        ),
        (
            ("create-nodeport-service", "positive-1.json"),
            format!(
                "NodePort Service Created (user={mallory} service=payments-debug resource=services ns=payments ports=([{{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":8080,\"targetPort\":8080,\"nodePort\":30080}}]))"
            ),
        ),
        (
            ("create-privileged-pod", "positive-1.json"),
            format!(
                "Pod started with privileged container (user={mallory} pod=node-debugger resource=pods ns=default images=(docker.io/library/ubuntu:22.04) init_images=(docker.io/library/busybox:1.36) ephemeral_images=<NA>)"
            ),
        ),
        (
            ("create-sensitive-mount-pod", "positive-1.json"),
            format!(
                "Pod started with sensitive mount (user={mallory} pod=containerd-peek ns=default resource=pods images=(docker.io/library/alpine:3.19) volumes=[{{\"name\":\"containerd-sock\",\"hostPath\":{{\"path\":\"/run/containerd/containerd.sock\",\"type\":\"Socket\"}}}}])"
            ),
        ),
        (
            ("anonymous-request-allowed", "positive-1.json"),
            "Request by anonymous user allowed (user=system:anonymous verb=list uri=/api/v1/namespaces/kube-system/configmaps?limit=500 reason=RBAC: allowed by ClusterRoleBinding \"legacy-anon-read\" of ClusterRole \"view\" to User \"system:anonymous\"))".to_string(),
        ),
        (
            ("attach-to-cluster-admin-role", "positive-1.json"),
            format!(
                "Cluster Role Binding to cluster-admin role (user={mallory} subject=({{\"kind\":\"User\",\"apiGroup\":\"rbac.authorization.k8s.io\",\"name\":\"{mallory}\"}}))"
            ),
        ),
        (
            ("ephemeralcontainers-created", "positive-2.json"),
            format!(
                "Ephemeral container is created in pod (user={mallory} pod=payments-api-7f9c4d8b6-x2k9q resource=pods ns=payments ephemeral_container_name=debugger-7xk2p ephemeral_container_image=docker.io/library/busybox:1.36)"
            ),
        ),
        (
            ("k8s-secret-get-unsuccessfully-tried", "positive-1.json"),
            "K8s Secret Get Unsuccessfully Tried (user=arn:aws:sts::111122223333:assumed-role/Developer/dave secret=stripe-api-key ns=payments resource=secrets resp=403 decision=forbid reason=)".to_string(),
        ),
        (
            ("ingress-object-without-tls-certificate-created", "positive-1.json"),
            format!(
                "K8s Ingress Without TLS Cert Created (user={mallory} ingress=payments-api namespace=payments resource=ingresses)"
            ),
        ),
        (
            ("untrusted-node-unsuccessfully-tried-to-join-the-cluster", "positive-1.json"),
            "Node not in allowed list tried unsuccessfully to join the cluster  (user=system:node:ip-10-0-12-34.eu-west-1.compute.internal node=ip-172-31-5-77.eu-west-1.compute.internal reason=Forbidden resource=nodes)".to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let mut failures = Vec::new();
    for ((s, file), want) in &expected {
        let dir = cases_dir().join(s);
        let (cases, ovr) = read_dir(&dir);
        let mut sources = vec![up.clone()];
        sources.extend(ovr);
        let set = load_clean(&sources);
        let case = cases.iter().find(|c| c.file == *file).unwrap();
        let got: Vec<String> = names_fired(&set, &case.event)
            .into_iter()
            .filter(|m| slug(&set.rules()[m.rule].name) == *s)
            .map(|m| m.output)
            .collect();
        if got != [want.clone()] {
            failures.push(format!("{s}/{file}:\n  want {want}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
