//! Whole-engine tests: the built-in pack and its event corpus, loader semantics (append,
//! override, enabled, exceptions, sources), diagnostics, and the upstream Falco file.

use super::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn src(name: &str, text: &str) -> RuleSource {
    RuleSource {
        name: name.into(),
        text: text.into(),
    }
}

fn load_ok(sources: &[RuleSource]) -> (RuleSet, Vec<String>) {
    match RuleSet::load(sources) {
        Ok(r) => r,
        Err(e) => panic!("load failed:\n{e}"),
    }
}

fn fired(set: &RuleSet, ev: &Value, en: Option<&Value>) -> Vec<String> {
    set.evaluate(
        &EventView {
            event: ev,
            enrichment: en.map(|e| e as _),
        },
        RuleMatching::All,
    )
    .into_iter()
    .map(|m| set.rules()[m.rule].id.to_string())
    .collect()
}

// ---------------------------------------------------------------------------------------
// Built-in pack

#[test]
fn builtin_pack_loads_without_errors_or_warnings() {
    let (set, warnings) = load_ok(&RuleSet::builtin_sources());
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(set.rules().len(), RuleSet::builtin().rules().len());
}

#[test]
fn builtin_rules_are_complete() {
    let set = RuleSet::builtin();
    assert!(set.rules().len() >= 14);
    let mut ids = std::collections::HashSet::new();
    for r in set.rules() {
        assert!(r.id.starts_with("EKS-"), "{}: id {}", r.name, r.id);
        assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
        assert!(r.desc.len() > 80, "{}: desc too short", r.id);
        assert!(r.enabled, "{}", r.id);
        assert!(r.severity >= crate::severity::Severity::Low, "{}", r.id);
        assert!(r.tags.iter().any(|t| t == "eks"), "{}: no eks tag", r.id);
        assert!(
            r.tags.iter().any(|t| t.starts_with("mitre_")),
            "{}: no MITRE tactic",
            r.id
        );
        assert!(
            r.tags.iter().any(|t| t.len() >= 5
                && t.starts_with('T')
                && t[1..5].bytes().all(|b| b.is_ascii_digit())),
            "{}: no MITRE technique",
            r.id
        );
    }
    // Every single-event row of the detection catalogue (1-49) has a rule; B1-B4 are the
    // within-batch detections in `pipeline::batch`.
    for row in 1..=49 {
        let id = format!("EKS-{row:03}");
        assert!(ids.contains(id.as_str()), "missing {id}");
    }
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rules")
}

fn read_case(path: &Path) -> (Value, Option<Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let event = v
        .get_mut("event")
        .map(Value::take)
        .unwrap_or_else(|| panic!("{}: no event", path.display()));
    let enrichment = v
        .get_mut("enrichment")
        .map(Value::take)
        .filter(|e| !e.is_null());
    (event, enrichment)
}

/// Every `tests/data/rules/<id>/positive-*.json` fires `<id>`; every `negative-*.json` does not.
/// Every pack rule has at least one of each.
#[test]
fn pack_corpus() {
    let set = RuleSet::builtin();
    let mut failures = Vec::new();
    let mut counts: std::collections::HashMap<String, (usize, usize)> = Default::default();
    let mut dirs: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let id = dir.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            set.rules().iter().any(|r| r.id == id),
            "{}: no rule with id {id}",
            dir.display()
        );
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let fname = f.file_name().unwrap().to_string_lossy().to_string();
            let positive = fname.starts_with("positive");
            assert!(
                positive || fname.starts_with("negative"),
                "{}: name must start with positive or negative",
                f.display()
            );
            let (ev, en) = read_case(&f);
            let hits = set.evaluate(
                &EventView {
                    event: &ev,
                    enrichment: en.as_ref().map(|e| e as _),
                },
                RuleMatching::All,
            );
            let ids: Vec<&str> = hits
                .iter()
                .map(|m| set.rules()[m.rule].id.as_ref())
                .collect();
            let has = ids.contains(&id.as_str());
            let c = counts.entry(id.clone()).or_default();
            if positive {
                c.0 += 1;
                if !has {
                    failures.push(format!("{id}/{fname}: expected to fire, fired {ids:?}"));
                }
                for m in &hits {
                    assert!(!m.output.contains('\n'), "{id}/{fname}: multi-line output");
                    assert!(!m.output.is_empty());
                }
            } else {
                c.1 += 1;
                if has {
                    failures.push(format!("{id}/{fname}: must not fire, fired {ids:?}"));
                }
            }
        }
    }
    for r in set.rules() {
        let (p, n) = counts.get(r.id.as_ref()).copied().unwrap_or_default();
        if p == 0 || n == 0 {
            failures.push(format!(
                "{}: needs a positive and a negative case (has {p} and {n})",
                r.id
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn first_matching_returns_one_rule_in_file_order() {
    let dir = data_dir().join("EKS-025");
    let (ev, en) = read_case(&dir.join("positive-1.json"));
    let set = RuleSet::builtin();
    let view = EventView {
        event: &ev,
        enrichment: en.as_ref().map(|e| e as _),
    };
    let all = set.evaluate(&view, RuleMatching::All);
    assert!(all.len() >= 2, "{all:?}");
    let first = set.evaluate(&view, RuleMatching::First);
    assert_eq!(first, vec![all[0].clone()]);
}

#[test]
fn aws_auth_output_shows_map_roles() {
    let (ev, en) = read_case(&data_dir().join("EKS-001/positive-1.json"));
    let set = RuleSet::builtin();
    let hits = set.evaluate(
        &EventView {
            event: &ev,
            enrichment: en.as_ref().map(|e| e as _),
        },
        RuleMatching::All,
    );
    let m = hits
        .iter()
        .find(|m| set.rules()[m.rule].id == "EKS-001")
        .unwrap();
    assert!(m.output.contains("mapRoles=- rolearn:"), "{}", m.output);
    assert!(
        m.output
            .contains("arn=arn:aws:sts::111122223333:assumed-role/"),
        "{}",
        m.output
    );
}

// ---------------------------------------------------------------------------------------
// Loader semantics

const BASE: &str = r#"
- list: verbs
  items: [create]
- macro: is_write
  condition: ka.verb in (verbs)
- rule: Writes
  desc: a write
  condition: is_write
  output: "%ka.verb by %ka.user.name"
  priority: WARNING
  source: k8s_audit
  tags: [a]
"#;

fn ev(verb: &str, user: &str) -> Value {
    json!({"auditID": "1", "verb": verb, "user": {"username": user}, "objectRef": {"resource": "pods", "namespace": "ns1"}})
}

#[test]
fn ids_priorities_and_outputs() {
    let (set, _) = load_ok(&[src("base.yaml", BASE)]);
    let r = &set.rules()[0];
    assert_eq!(
        (r.id.as_ref(), r.priority.as_ref(), r.severity),
        ("writes", "WARNING", crate::severity::Severity::Medium)
    );
    assert_eq!(r.source, "base.yaml");
    let hits = set.evaluate(
        &EventView {
            event: &ev("create", "bob"),
            enrichment: None,
        },
        RuleMatching::All,
    );
    assert_eq!(
        hits,
        vec![RuleMatch {
            rule: 0,
            output: "create by bob".into()
        }]
    );
}

#[test]
fn later_sources_append_override_and_disable() {
    let user = r#"
- list: verbs
  items: [update]
  append: true
- macro: is_write
  condition: or ka.verb = patch
  append: true
- rule: Writes
  condition: and not ka.user.name = ci
  output: (appended)
  tags: [b]
  append: true
"#;
    let (set, _) = load_ok(&[src("base.yaml", BASE), src("user.yaml", user)]);
    assert_eq!(set.rules()[0].tags, vec!["a", "b"]);
    let f = |verb, u| fired(&set, &ev(verb, u), None);
    assert_eq!(f("create", "bob"), vec!["writes"]);
    assert_eq!(f("update", "bob"), vec!["writes"]);
    assert_eq!(f("patch", "bob"), vec!["writes"]);
    assert!(f("create", "ci").is_empty());
    assert!(f("get", "bob").is_empty());
    let hits = set.evaluate(
        &EventView {
            event: &ev("create", "bob"),
            enrichment: None,
        },
        RuleMatching::All,
    );
    assert_eq!(hits[0].output, "create by bob (appended)");

    let ovr = r#"
- rule: Writes
  condition: ka.verb = delete
  priority: critical
  override:
    condition: replace
    priority: replace
- macro: is_write
  condition: ka.verb = get
  override:
    condition: replace
"#;
    let (set, _) = load_ok(&[src("base.yaml", BASE), src("o.yaml", ovr)]);
    assert_eq!(set.rules()[0].severity, crate::severity::Severity::Critical);
    assert_eq!(fired(&set, &ev("delete", "x"), None), vec!["writes"]);
    assert!(fired(&set, &ev("create", "x"), None).is_empty());

    let ovr_append = r#"
- rule: Writes
  condition: or ka.verb = delete
  override:
    condition: append
"#;
    let (set, _) = load_ok(&[src("base.yaml", BASE), src("o.yaml", ovr_append)]);
    assert_eq!(fired(&set, &ev("delete", "x"), None), vec!["writes"]);

    let off = "- rule: Writes\n  enabled: false\n";
    let (set, _) = load_ok(&[src("base.yaml", BASE), src("off.yaml", off)]);
    assert!(!set.rules()[0].enabled);
    assert!(fired(&set, &ev("create", "bob"), None).is_empty());
}

#[test]
fn exceptions_become_and_not() {
    let text = r#"
- list: ci_users
  items: [ci, robot]
- rule: Pods
  id: X-1
  desc: d
  condition: ka.target.resource = pods
  output: o
  priority: info
  exceptions:
    - name: ns_user
      fields: [ka.target.namespace, ka.user.name]
      comps: [=, in]
      values:
        - [ns1, [alice, carol]]
        - [ns2, ci_users]
    - name: verbs
      fields: ka.verb
      values: [delete]
    - name: empty
      fields: [ka.verb]
"#;
    let more = r#"
- rule: Pods
  exceptions:
    - name: verbs
      values: [patch]
  append: true
"#;
    let (set, _) = load_ok(&[src("a.yaml", text), src("b.yaml", more)]);
    let mut e = ev("get", "alice");
    assert!(fired(&set, &e, None).is_empty());
    e["user"]["username"] = json!("bob");
    assert_eq!(fired(&set, &e, None), vec!["X-1"]);
    e["objectRef"]["namespace"] = json!("ns2");
    e["user"]["username"] = json!("robot");
    assert!(fired(&set, &e, None).is_empty());
    assert!(fired(&set, &ev("delete", "bob"), None).is_empty());
    assert!(fired(&set, &ev("patch", "bob"), None).is_empty());
    assert_eq!(fired(&set, &ev("create", "bob"), None), vec!["X-1"]);
}

#[test]
fn other_sources_are_skipped_with_a_warning() {
    let text = r#"
- rule: Syscall
  desc: d
  condition: evt.type = open
  output: o
  priority: info
  source: syscall
- rule: Syscall
  enabled: false
- macro: m
  condition: proc.name = x
  source: syscall
"#;
    let (set, warnings) = load_ok(&[src("s.yaml", text)]);
    assert!(set.rules().is_empty());
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(
        warnings[0].starts_with("s.yaml:2: rule 'Syscall': source 'syscall'"),
        "{}",
        warnings[0]
    );
}

// ---------------------------------------------------------------------------------------
// Diagnostics

fn errors_of(sources: &[RuleSource]) -> Vec<RuleDiagnostic> {
    match RuleSet::load(sources) {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.errors,
    }
}

#[test]
fn unknown_field_has_file_line_column_and_rule() {
    let text = "- rule: Bad Field\n  desc: d\n  condition: ka.verb = get and ka.nope = 1\n  output: o\n  priority: high\n";
    let errs = errors_of(&[src("f.yaml", text)]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        errs[0].to_string(),
        "f.yaml:3:32: rule 'Bad Field': unknown field 'ka.nope'"
    );
}

/// A condition nested past the parser's bound is an error naming the file, line, column
/// and rule, like any other syntax error.
#[test]
fn overly_nested_condition_names_its_rule() {
    let condition = format!("{}ka.verb = get{}", "(".repeat(500), ")".repeat(500));
    let text = format!(
        "- rule: Deep\n  desc: d\n  condition: {condition}\n  output: o\n  priority: high\n"
    );
    let errs = errors_of(&[src("deep.yaml", &text)]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!((e.file.as_str(), e.line, e.column), ("deep.yaml", 3, 114));
    assert_eq!(e.item.as_deref(), Some("rule 'Deep'"));
    assert!(e.message.contains("nested more than 100 levels"), "{e}");
}

#[test]
fn unknown_macro_in_a_block_condition() {
    let text = "- rule: Bad Macro\n  desc: d\n  condition: >\n    ka.verb = get\n    and not nosuch_macro\n  output: o\n  priority: high\n";
    let errs = errors_of(&[src("m.yaml", text)]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!((e.file.as_str(), e.line, e.column), ("m.yaml", 5, 13));
    assert_eq!(e.item.as_deref(), Some("rule 'Bad Macro'"));
    assert!(e.message.contains("unknown macro 'nosuch_macro'"));
}

#[test]
fn syntax_errors_and_bad_operators() {
    let text = r#"
- rule: Bad Syntax
  desc: d
  condition: (ka.verb = get
  output: o
  priority: high
- rule: Bad Operator
  desc: d
  condition: ka.verb equals get
  output: o
  priority: high
"#;
    let errs = errors_of(&[src("s.yaml", text)]);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(
        (errs[0].line, errs[0].item.as_deref()),
        (4, Some("rule 'Bad Syntax'"))
    );
    assert!(errs[0].message.contains("expected ')'"), "{}", errs[0]);
    assert_eq!(
        errs[1].to_string(),
        "s.yaml:9:22: rule 'Bad Operator': expected an operator after field 'ka.verb', found 'equals'"
    );
}

#[test]
fn all_errors_of_all_files_in_one_pass() {
    let a = r#"
- macro: broken
  condition: ka.nope exists
- rule: Uses Broken
  desc: d
  condition: broken
  output: o %ka.bad.field
  priority: urgent
- list: l
  items: [a]
  append: true
"#;
    let b = "- rule: Missing\n  condition: ka.verb = get\n- rule: Nope\n  append: true\n  condition: x\n- : [\n";
    let c = "- rule: Ghost\n  enabled: false\n- rule: R\n  desc: d\n  condition: a.b.c = 1 and m1\n  output: o\n  priority: info\n- macro: m1\n  condition: m2\n- macro: m2\n  condition: m1\n";
    let errs = errors_of(&[src("a.yaml", a), src("b.yaml", b), src("c.yaml", c)]);
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    let joined = text.join("\n");
    assert!(
        joined.contains("a.yaml:3:14: macro 'broken': unknown field 'ka.nope'"),
        "{joined}"
    );
    assert!(
        joined.contains("a.yaml:8:3: rule 'Uses Broken': unknown priority 'urgent'"),
        "{joined}"
    );
    assert!(
        joined.contains("a.yaml:9:1: list 'l': amends list 'l'"),
        "{joined}"
    );
    assert!(joined.contains("b.yaml:"), "{joined}");
    assert!(
        joined.contains("c.yaml:1:1: rule 'Ghost': sets 'enabled'"),
        "{joined}"
    );
    assert!(
        joined.contains("c.yaml:5:14: rule 'R': unknown field 'a.b.c'"),
        "{joined}"
    );
    assert!(joined.contains("macro cycle"), "{joined}");
    // One line per diagnostic in the error's Display.
    let e = RuleSet::load(&[src("a.yaml", a)]).unwrap_err();
    assert_eq!(e.to_string().lines().count(), e.errors.len());
}

#[test]
fn output_errors_point_at_the_output() {
    let text = "- rule: Out\n  desc: d\n  condition: ka.verb = get\n  output: user=%ka.user.name bad=%ka.nope\n  priority: info\n";
    let errs = errors_of(&[src("o.yaml", text)]);
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].line, errs[0].column), (4, 34));
    assert!(errs[0].message.contains("unknown field 'ka.nope'"));
}

#[test]
fn duplicate_ids_are_errors() {
    let text = "- rule: A\n  id: X\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: info\n- rule: B\n  id: X\n  desc: d\n  condition: ka.verb = get\n  output: o\n  priority: info\n";
    let errs = errors_of(&[src("d.yaml", text)]);
    assert_eq!(
        errs[0].to_string(),
        "d.yaml:7:1: rule 'B': duplicate id 'X' (also used by rule 'A')"
    );
}

// ---------------------------------------------------------------------------------------
// The upstream Falco rules file (reference data outside the crate; skipped when absent)

pub(super) fn falco_rules_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FALCO_RULES") {
        return Some(PathBuf::from(p));
    }
    // `../shared` from the project root; `../../shared` when the crate sits one level deeper.
    [
        "../shared/falco/k8s_audit_rules.yaml",
        "../../shared/falco/k8s_audit_rules.yaml",
    ]
    .iter()
    .map(|rel| Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
    .find(|p| p.exists())
}

fn falco_event(verb: &str, resource: &str, ns: &str, extra: Value) -> Value {
    let mut ev = json!({
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "RequestResponse",
        "auditID": "4d0c5b0e-8a8f-4b52-9b1a-0c1f6f0d1e11", "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/{ns}/{resource}"), "verb": verb,
        "user": {"username": "arn:aws:sts::111122223333:assumed-role/Dev/mallory", "groups": ["system:authenticated"]},
        "sourceIPs": ["203.0.113.7"], "userAgent": "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350",
        "objectRef": {"resource": resource, "namespace": ns, "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 201},
        "requestReceivedTimestamp": "2024-06-01T10:00:00.000000Z",
        "stageTimestamp": "2024-06-01T10:00:00.050000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""}
    });
    if let (Some(obj), Some(extra)) = (ev.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    ev
}

#[test]
fn upstream_falco_rules_load_and_fire() {
    let Some(path) = falco_rules_path() else {
        println!("note: Falco k8s_audit_rules.yaml not found (set FALCO_RULES); test skipped");
        return;
    };
    let text = std::fs::read_to_string(&path).unwrap();
    // As the upstream comments suggest, a user file narrows the allowed images.
    let user = "- macro: allowed_k8s_containers\n  condition: (ka.req.pod.containers.image.repository in (my-repo/my-image))\n";
    let (set, warnings) = load_ok(&[src(&path.to_string_lossy(), &text), src("user.yaml", user)]);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(set.rules().len(), 48);
    let names = |ev: &Value| -> Vec<String> {
        set.evaluate(
            &EventView {
                event: ev,
                enrichment: None,
            },
            RuleMatching::All,
        )
        .into_iter()
        .map(|m| set.rules()[m.rule].name.to_string())
        .collect()
    };
    let pod = |spec: Value| {
        falco_event(
            "create",
            "pods",
            "default",
            json!({
                "requestObject": {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "p"}, "spec": spec},
                "responseObject": {"kind": "Pod", "metadata": {"name": "p"}}
            }),
        )
    };

    let privileged = pod(
        json!({"containers": [{"name": "c", "image": "docker.io/library/alpine:3.19", "securityContext": {"privileged": true}}]}),
    );
    let got = names(&privileged);
    assert!(
        got.contains(&"Create Privileged Pod".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"Create Disallowed Pod".to_string()),
        "{got:?}"
    );
    assert!(got.contains(&"Disallowed K8s User".to_string()), "{got:?}");
    let calico = pod(
        json!({"containers": [{"name": "c", "image": "calico/node:v3.27", "securityContext": {"privileged": true}}]}),
    );
    assert!(!names(&calico).contains(&"Create Privileged Pod".to_string()));
    let allowed = pod(json!({"containers": [{"name": "c", "image": "my-repo/my-image:1.0"}]}));
    assert!(!names(&allowed).contains(&"Create Disallowed Pod".to_string()));

    let mount = pod(
        json!({"containers": [{"name": "c", "image": "alpine"}], "volumes": [{"name": "v", "hostPath": {"path": "/var/run/docker.sock"}}]}),
    );
    assert!(names(&mount).contains(&"Create Sensitive Mount Pod".to_string()));

    let mut exec = falco_event(
        "get",
        "pods",
        "default",
        json!({
            "stage": "ResponseStarted",
            "requestURI": "/api/v1/namespaces/default/pods/web-0/exec?command=sh&container=web&stdin=true&stdout=true&tty=true",
            "responseStatus": {"metadata": {}, "code": 101}
        }),
    );
    exec["objectRef"]["subresource"] = json!("exec");
    exec["objectRef"]["name"] = json!("web-0");
    let got = names(&exec);
    assert!(got.contains(&"Attach/Exec Pod".to_string()), "{got:?}");
    let out = set
        .evaluate(
            &EventView {
                event: &exec,
                enrichment: None,
            },
            RuleMatching::All,
        )
        .into_iter()
        .find(|m| set.rules()[m.rule].name == "Attach/Exec Pod")
        .unwrap()
        .output;
    assert!(out.contains("command=sh"), "{out}");

    let crb = falco_event(
        "create",
        "clusterrolebindings",
        "",
        json!({
            "requestURI": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "requestObject": {"kind": "ClusterRoleBinding", "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "User", "name": "mallory"}]}
        }),
    );
    assert!(names(&crb).contains(&"Attach to cluster-admin Role".to_string()));

    let mut anon = falco_event(
        "get",
        "secrets",
        "default",
        json!({"user": {"username": "system:anonymous", "groups": ["system:unauthenticated"]}, "responseStatus": {"code": 200}}),
    );
    let got = names(&anon);
    assert!(
        got.contains(&"Anonymous Request Allowed".to_string()),
        "{got:?}"
    );
    assert!(
        got.contains(&"K8s Secret Get Successfully".to_string()),
        "{got:?}"
    );
    anon["requestURI"] = json!("/healthz?verbose");
    assert!(!names(&anon).contains(&"Anonymous Request Allowed".to_string()));

    let admin = falco_event(
        "get",
        "pods",
        "default",
        json!({"user": {"username": "kubernetes-admin"}}),
    );
    let got = names(&admin);
    assert!(!got.contains(&"Disallowed K8s User".to_string()), "{got:?}");
}

#[test]
#[ignore = "prints the pack's outputs for review"]
fn show_outputs() {
    let set = RuleSet::builtin();
    let mut dirs: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for d in dirs {
        let (ev, en) = read_case(&d.join("positive-1.json"));
        for m in set.evaluate(
            &EventView {
                event: &ev,
                enrichment: en.as_ref().map(|e| e as _),
            },
            RuleMatching::All,
        ) {
            println!(
                "{} [{}] {}",
                set.rules()[m.rule].id,
                set.rules()[m.rule].severity,
                m.output
            );
        }
    }
}

/// The verb/resource index only skips rules that cannot match, macro results shared between
/// the rules of one event are each rule's own, and the pack `build.rs` compiled is the pack:
/// on every pack fixture and on a generated hour of traffic with attacks, indexed evaluation
/// of the built-in (static) pack equals evaluating every rule on its own, and equals the
/// pack compiled from its YAML now.
#[test]
fn the_rule_index_and_the_static_pack_change_no_result() {
    use crate::pipeline::enrich::{BatchContext, enrich};
    use crate::pipeline::event::AuditEvent;
    let set = RuleSet::builtin();
    let (from_yaml, _) = RuleSet::load(&RuleSet::builtin_sources()).unwrap();
    let intel = crate::pipeline::ipintel::IpIntel::default();
    let ctx = BatchContext {
        cluster: "c".into(),
        ..Default::default()
    };
    let log = Default::default();
    let mut checked = 0;
    let mut fired = 0;
    // One memo for every event: results kept from earlier events must be this one's.
    let memo = BatchMemo::new();
    let mut check = |ev: &dyn crate::doc::JsonDoc, en: Option<&dyn crate::doc::EnrichmentDoc>| {
        let view = EventView {
            event: ev,
            enrichment: en,
        };
        let indexed = set.evaluate(&view, RuleMatching::All);
        assert_eq!(
            indexed,
            set.evaluate_in_batch(&view, RuleMatching::All, &memo),
            "{}",
            ev.json_text()
        );
        assert_eq!(
            indexed,
            set.evaluate_every_rule(&view),
            "{}",
            ev.json_text()
        );
        assert_eq!(
            indexed,
            from_yaml.evaluate(&view, RuleMatching::All),
            "{}",
            ev.json_text()
        );
        checked += 1;
        fired += indexed.len();
    };
    let mut dirs: Vec<_> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    for f in dirs
        .iter()
        .filter(|d| d.is_dir())
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
    {
        let (ev, en) = read_case(&f);
        check(&ev, en.as_ref().map(|e| e as _));
    }
    let corpus = crate::corpus::Corpus::new(crate::corpus::CorpusSpec {
        seed: 11,
        attacks: true,
        ..Default::default()
    });
    for e in corpus.take(3000) {
        let Ok(ev) = AuditEvent::parse(&e.message) else {
            continue;
        };
        let en = enrich(&ev, &ctx, &log, &intel);
        check(&ev, Some(&en));
    }
    assert!(
        checked > 3000 && fired > 100,
        "{checked} events, {fired} matches"
    );
    assert!(memo.len() > 10, "{} results kept", memo.len());
}

/// A macro whose checks all read one plain field is evaluated once per distinct text of
/// that field in a batch; the others every time. Results equal evaluating each event on its
/// own, and the memo stops growing at its bound.
#[test]
fn single_field_macros_are_kept_per_batch_by_their_text() {
    let text = r#"
- macro: bad_agent
  condition: (ka.useragent icontains hunter or ka.useragent startswith evil)
- macro: mixed
  condition: (ka.useragent icontains tool or ka.verb = delete)
- macro: one_check
  condition: ka.useragent icontains kubectl
- rule: Bad agent
  desc: d
  condition: bad_agent and ka.verb = get
  output: "bad %ka.useragent"
  priority: high
- rule: Mixed
  desc: d
  condition: mixed
  output: mixed
  priority: low
- rule: One
  desc: d
  condition: one_check
  output: one
  priority: low
"#;
    let (set, _) = load_ok(&[src("memo.yaml", text)]);
    let memoized: Vec<_> = set.single_field.values().collect();
    assert_eq!(memoized, [&&["userAgent"][..]], "only bad_agent");
    let event = |agent: &str, verb: &str| {
        json!({"kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a",
            "stage": "ResponseComplete", "verb": verb, "userAgent": agent,
            "user": {"username": "u"}})
    };
    let agents = [
        "kube-hunter/1",
        "kubectl/1.29",
        "EVIL",
        "evil/2",
        "x-tool",
        "Hunter",
    ];
    let memo = BatchMemo::new();
    let mut fired = 0;
    for i in 0..60 {
        let verb = ["get", "delete", "list"][(i / agents.len()) % 3];
        let ev = event(agents[i % agents.len()], verb);
        let view = EventView {
            event: &ev,
            enrichment: None,
        };
        let alone = set.evaluate(&view, RuleMatching::All);
        assert_eq!(
            set.evaluate_in_batch(&view, RuleMatching::All, &memo),
            alone
        );
        fired += alone.len();
    }
    assert!(fired > 20, "{fired}");
    // `EVIL` is not `evil`: startswith is case-sensitive, so each text has its own result.
    assert_eq!(memo.len(), agents.len());
    // Bounded: a batch of all-different agents keeps 4,096 and still answers right.
    let memo = BatchMemo::new();
    for i in 0..5000 {
        let agent = if i % 7 == 0 {
            format!("evil-{i}")
        } else {
            format!("agent-{i}")
        };
        let ev = event(&agent, "get");
        let view = EventView {
            event: &ev,
            enrichment: None,
        };
        assert_eq!(
            set.evaluate_in_batch(&view, RuleMatching::All, &memo),
            set.evaluate(&view, RuleMatching::All),
            "{agent}"
        );
    }
    assert_eq!(memo.len(), 4096);
    // A memo handed to another rule set starts over rather than answer with this one's.
    let (other, _) = load_ok(&[src("other.yaml", &text.replace("hunter", "kubectl"))]);
    let ev = event("kubectl/1.29", "get");
    let view = EventView {
        event: &ev,
        enrichment: None,
    };
    assert_eq!(
        set.evaluate_in_batch(&view, RuleMatching::All, &memo),
        set.evaluate(&view, RuleMatching::All)
    );
    let mine = other.evaluate_in_batch(&view, RuleMatching::All, &memo);
    assert_eq!(mine, other.evaluate(&view, RuleMatching::All));
    assert!(
        mine.iter()
            .any(|m| other.rules()[m.rule].name == "Bad agent")
    );
    // The first set's results were dropped; only the second's one is kept.
    assert_eq!(memo.len(), 1);
    // The built-in pack's offensive-tool macro is one of them.
    assert!(
        RuleSet::builtin()
            .single_field
            .values()
            .any(|p| *p == ["userAgent"])
    );
}

/// The build-time JSON of the built-in pack is the YAML's document, and loads the same rules.
#[test]
fn builtin_pack_json_equals_its_yaml() {
    for (name, yaml, json) in crate::pack::BUILTIN_PACK {
        assert!(!json.is_empty(), "{name}: build.rs did not convert it");
        let from_yaml: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
        let from_json: serde_yaml::Value = serde_json::from_str(json).unwrap();
        assert_eq!(from_yaml, from_json, "{name}");
    }
    let (from_yaml, _) = RuleSet::load(&RuleSet::builtin_sources()).unwrap();
    assert_eq!(RuleSet::builtin().rules(), from_yaml.rules());
}
