//! Stage 8 (the rendering half): findings → one SNS message per rule per batch.
//!
//! The subject says what happened where and by whom in under 100 ASCII characters (an
//! SNS rule); the body is what on-call needs to act without opening a console; the
//! attributes let subscriptions filter by severity, rule and cluster.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::pipeline::detect::Finding;
use crate::severity::Severity;

/// SNS subjects must be under 100 characters.
pub const MAX_SUBJECT_CHARS: usize = 99;
/// SNS messages (body plus attributes) must stay under 256 KiB; leave room for attributes.
pub const MAX_BODY_BYTES: usize = 250 * 1024;
pub const DEFAULT_SAMPLE_EVENTS: usize = 3;

/// Facts about the batch that are not in each finding.
#[derive(Debug, Clone, Default)]
pub struct AlertContext {
    pub region: String,
    /// `s3://bucket/key` of the archive object holding the events, when archived.
    pub archive_uri: Option<String>,
    pub sample_events: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlertMessage {
    pub subject: String,
    pub body: String,
    pub severity: Severity,
    pub rule_id: String,
    pub cluster: String,
    /// FIFO topics: one ordered stream per cluster and rule.
    pub group_id: String,
    /// FIFO topics: derived from the rule and the audit ids, so a redelivered batch
    /// produces the same id and SNS drops the second copy.
    pub dedup_id: String,
    pub events: usize,
}

impl AlertMessage {
    /// Message attributes for subscription filter policies.
    pub fn attributes(&self) -> [(&'static str, &str); 3] {
        [
            ("severity", self.severity.as_str()),
            ("rule_id", &self.rule_id),
            ("cluster", &self.cluster),
        ]
    }
}

/// Groups findings at or above `min` by rule (most severe first, then first seen).
pub fn build_alerts(findings: &[Finding], min: Severity, ctx: &AlertContext) -> Vec<AlertMessage> {
    let mut groups: Vec<(String, Vec<&Finding>)> = Vec::new();
    for f in findings.iter().filter(|f| f.severity >= min) {
        match groups.iter_mut().find(|(id, _)| *id == f.rule_id) {
            Some((_, v)) => v.push(f),
            None => groups.push((f.rule_id.clone(), vec![f])),
        }
    }
    groups.sort_by_key(|(_, v)| std::cmp::Reverse(v[0].severity));
    groups.into_iter().map(|(_, g)| render(&g, ctx)).collect()
}

fn who(f: &Finding) -> &str {
    f.arn
        .as_deref()
        .filter(|a| !a.is_empty())
        .unwrap_or(&f.user)
}

fn render(group: &[&Finding], ctx: &AlertContext) -> AlertMessage {
    let first = group[0];
    let n = group.len();
    let more = if n > 1 {
        format!(" (+{} more)", n - 1)
    } else {
        String::new()
    };
    let head = format!(
        "[{}] {} on {} by ",
        first.severity.as_str().to_ascii_uppercase(),
        first.rule,
        first.cluster
    );
    let subject = subject_line(&format!(
        "{head}{}{more}",
        shorten_tail(
            who(first),
            MAX_SUBJECT_CHARS.saturating_sub(head.len() + more.len())
        )
    ));

    let mut b = String::new();
    let _ = writeln!(
        b,
        "[{}] {} - {} event{} on cluster {}\n",
        first.severity.as_str().to_ascii_uppercase(),
        first.rule,
        n,
        if n == 1 { "" } else { "s" },
        first.cluster
    );
    let _ = writeln!(b, "WHAT HAPPENED\n  {}\n", first.output);
    let _ = writeln!(b, "WHO");
    let _ = writeln!(b, "  User:        {}", first.user);
    if let Some(arn) = &first.arn {
        let _ = writeln!(b, "  IAM identity: {arn}");
    }
    let _ = writeln!(b, "  Kind:        {}\n", first.identity_kind);
    let _ = writeln!(b, "WHERE");
    let region = if ctx.region.is_empty() {
        "-"
    } else {
        &ctx.region
    };
    let _ = writeln!(
        b,
        "  Cluster:     {}  (account {}, region {region})",
        first.cluster,
        dash(&first.account)
    );
    let object = match (first.namespace.as_str(), first.name.as_str()) {
        ("", "") => "-".to_string(),
        ("", name) => name.to_string(),
        (ns, "") => format!("{ns}/*"),
        (ns, name) => format!("{ns}/{name}"),
    };
    let _ = writeln!(b, "  Object:      {} {object}", dash(&first.resource));
    let _ = writeln!(b, "  Request:     {} {}", first.verb, first.request_uri);
    if let Some(code) = first.response_code {
        let decision = first.decision.as_deref().unwrap_or("-");
        let _ = writeln!(b, "  Response:    {code} (decision {decision})");
    }
    let _ = writeln!(b, "\nWHEN\n  {}\n", dash(&first.time));
    let _ = writeln!(b, "FROM");
    let _ = writeln!(
        b,
        "  Source IP:   {} ({})",
        dash(&first.source_ip),
        first.source_ip_class
    );
    let _ = writeln!(b, "  User agent:  {}\n", dash(&first.user_agent));
    if let Some(cmd) = &first.exec_command {
        let _ = writeln!(b, "COMMAND\n  {cmd}\n");
    }
    let _ = writeln!(
        b,
        "WHY IT MATTERS / WHAT TO CHECK FIRST\n  {}\n",
        first.description.trim()
    );
    let _ = writeln!(b, "EVIDENCE");
    let _ = writeln!(
        b,
        "  Rule:        {} ({})",
        first.rule_id,
        first.tags.join(", ")
    );
    let _ = writeln!(b, "  Events:      {n} in this batch");
    if let Some(uri) = &ctx.archive_uri {
        let _ = writeln!(b, "  Archive:     {uri}");
    }
    let _ = writeln!(
        b,
        "  Logs Insights: fields @timestamp, @message | filter auditID = \"{}\"",
        first.audit_id
    );
    let samples = ctx.sample_events.max(1);
    if n > 1 {
        let _ = writeln!(b, "\nEVENTS (first {} of {n})", samples.min(n));
        for (i, f) in group.iter().take(samples).enumerate() {
            let _ = writeln!(
                b,
                "  {}. {} {} {} {} {}/{} from {} auditID={}",
                i + 1,
                dash(&f.time),
                who(f),
                f.verb,
                f.resource,
                dash(&f.namespace),
                dash(&f.name),
                dash(&f.source_ip),
                f.audit_id
            );
        }
    }
    let mut ids: Vec<&str> = group.iter().map(|f| f.audit_id.as_str()).collect();
    ids.sort_unstable();
    let _ = writeln!(b, "\nAudit IDs: {}", ids.join(", "));
    let body = cap_body(b);

    let mut h = Sha256::new();
    h.update(first.rule_id.as_bytes());
    for id in &ids {
        h.update(b"\n");
        h.update(id.as_bytes());
    }
    let dedup_id: String = h.finalize().iter().map(|x| format!("{x:02x}")).collect();
    AlertMessage {
        subject,
        body,
        severity: first.severity,
        rule_id: first.rule_id.clone(),
        cluster: first.cluster.clone(),
        group_id: crate::archive::segment(&format!("{}-{}", first.cluster, first.rule_id)),
        dedup_id,
        events: n,
    }
}

/// The one alert sent when a custom rules file cannot be used: the function goes on with
/// the built-in pack, and on-call learns that their own rules are not running.
pub fn rules_load_failure(cluster: &str, location: &str, error: &str) -> AlertMessage {
    let subject = subject_line(&format!(
        "[HIGH] Custom rules not loaded on {cluster}: built-in pack only ({location})"
    ));
    let body = cap_body(format!(
        "[HIGH] Custom detection rules failed to load - cluster {cluster}\n\n\
         WHAT HAPPENED\n  The rules file {location} could not be loaded at cold start. The function\n  \
         keeps archiving every event and runs the built-in rule pack only: detections from\n  \
         your own rules are NOT running.\n\n\
         ERROR\n{}\n\n\
         WHAT TO DO\n  Fix the file (check it with `eks-audit-watch rules validate FILE`), upload it\n  \
         again, and update the function (or wait for new execution environments).\n",
        error
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    ));
    let mut h = Sha256::new();
    h.update(location.as_bytes());
    h.update(error.as_bytes());
    AlertMessage {
        subject,
        body,
        severity: Severity::High,
        rule_id: "EKS-RULES-LOAD".into(),
        cluster: cluster.to_string(),
        group_id: crate::archive::segment(&format!("{cluster}-rules-load")),
        dedup_id: h.finalize().iter().map(|x| format!("{x:02x}")).collect(),
        events: 0,
    }
}

fn dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// Keeps the end of an identity (the role and session name of an ARN say the most).
fn shorten_tail(s: &str, budget: usize) -> String {
    let n = s.chars().count();
    if n <= budget || budget < 12 {
        return s.to_string();
    }
    let tail: String = s.chars().skip(n - (budget - 3)).collect();
    format!("...{tail}")
}

/// ASCII, no control characters, under 100 characters.
pub fn subject_line(raw: &str) -> String {
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.chars().count() <= MAX_SUBJECT_CHARS {
        return clean;
    }
    let mut cut: String = clean.chars().take(MAX_SUBJECT_CHARS - 3).collect();
    cut.push_str("...");
    cut
}

fn cap_body(mut body: String) -> String {
    if body.len() <= MAX_BODY_BYTES {
        return body;
    }
    let note = "\n[... truncated to stay under the SNS 256 KB limit; see the archive object]\n";
    let mut end = MAX_BODY_BYTES - note.len();
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body.truncate(end);
    body.push_str(note);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn finding(rule_id: &str, sev: Severity, audit_id: &str) -> Finding {
        Finding {
            rule: "aws-auth ConfigMap changed".into(),
            rule_id: rule_id.into(),
            severity: sev,
            tags: vec!["T1098".into()],
            description: "Someone changed who is cluster admin. Check the mapRoles diff.".into(),
            output: "aws-auth changed by alice".into(),
            audit_id: audit_id.into(),
            cluster: "prod-eu-1".into(),
            account: "111122223333".into(),
            user: "arn:aws:sts::111122223333:assumed-role/PlatformAdmin/alice@example.com".into(),
            identity_kind: "iam-role".into(),
            arn: Some(
                "arn:aws:sts::111122223333:assumed-role/PlatformAdmin/alice@example.com".into(),
            ),
            verb: "patch".into(),
            resource: "configmaps".into(),
            namespace: "kube-system".into(),
            name: "aws-auth".into(),
            request_uri: "/api/v1/namespaces/kube-system/configmaps/aws-auth".into(),
            source_ip: "203.0.113.10".into(),
            source_ip_class: "public".into(),
            user_agent: "kubectl/v1.31.2".into(),
            response_code: Some(200),
            decision: Some("allow".into()),
            exec_command: None,
            time: "2026-11-24T10:15:30.123456Z".into(),
            cw_event_id: "1".into(),
        }
    }

    #[test]
    fn one_message_per_rule_most_severe_first_above_the_minimum() {
        let fs = vec![
            finding("EKS-023", Severity::Medium, "a"),
            finding("EKS-001", Severity::Critical, "b"),
            finding("EKS-023", Severity::Medium, "c"),
            finding("EKS-020", Severity::Low, "d"),
        ];
        let ctx = AlertContext {
            region: "eu-west-1".into(),
            archive_uri: Some("s3://b/k".into()),
            sample_events: 3,
        };
        let alerts = build_alerts(&fs, Severity::Medium, &ctx);
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].rule_id, "EKS-001");
        assert_eq!(alerts[1].events, 2);
        assert!(
            alerts[1].subject.ends_with("(+1 more)"),
            "{}",
            alerts[1].subject
        );
        // The identity keeps its most telling end: role and session name.
        assert!(
            alerts[0]
                .subject
                .starts_with("[CRITICAL] aws-auth ConfigMap changed on prod-eu-1 by ...")
        );
        assert!(
            alerts[0]
                .subject
                .ends_with("PlatformAdmin/alice@example.com"),
            "{}",
            alerts[0].subject
        );
        assert!(
            alerts
                .iter()
                .all(|a| a.subject.len() < 100 && a.subject.is_ascii())
        );
        let body = &alerts[0].body;
        for needle in [
            "WHO",
            "alice@example.com",
            "kube-system/aws-auth",
            "203.0.113.10 (public)",
            "kubectl/v1.31.2",
            "2026-11-24T10:15:30.123456Z",
            "Check the mapRoles diff",
            "s3://b/k",
            "eu-west-1",
        ] {
            assert!(body.contains(needle), "missing {needle} in\n{body}");
        }
        assert_eq!(alerts[0].attributes()[0], ("severity", "critical"));
        assert_eq!(alerts[1].attributes()[1], ("rule_id", "EKS-023"));
    }

    #[test]
    fn dedup_id_is_stable_for_a_redelivered_batch() {
        let ctx = AlertContext::default();
        let a = build_alerts(
            &[
                finding("R", Severity::High, "x"),
                finding("R", Severity::High, "y"),
            ],
            Severity::Low,
            &ctx,
        );
        let b = build_alerts(
            &[
                finding("R", Severity::High, "y"),
                finding("R", Severity::High, "x"),
            ],
            Severity::Low,
            &ctx,
        );
        assert_eq!(a[0].dedup_id, b[0].dedup_id);
        assert_eq!(a[0].dedup_id.len(), 64);
        let c = build_alerts(&[finding("R", Severity::High, "z")], Severity::Low, &ctx);
        assert_ne!(a[0].dedup_id, c[0].dedup_id);
        assert_eq!(a[0].group_id, "prod-eu-1-R");
    }

    #[test]
    fn subjects_and_bodies_respect_sns_limits() {
        let s = subject_line(&format!("[HIGH] {} \u{e9}\n", "x".repeat(200)));
        assert!(s.len() <= MAX_SUBJECT_CHARS && s.is_ascii() && s.ends_with("..."));
        let mut f = finding("R", Severity::High, "a");
        f.output = "y".repeat(400_000);
        let a = build_alerts(&[f], Severity::Low, &AlertContext::default());
        assert!(a[0].body.len() <= MAX_BODY_BYTES);
        assert!(a[0].body.contains("truncated"));
    }
}
