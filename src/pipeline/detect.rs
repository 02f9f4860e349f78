//! Stage 6: run the compiled rule set over one redacted, enriched event and turn each
//! match into a [`Finding`] an on-call engineer (or `scan --format json`) can read.

use serde::Serialize;

use super::enrich::{DetectionRef, Enrichment};
use super::event::AuditEvent;
use crate::rules::{BatchMemo, EventView, RuleMatching, RuleSet};
use crate::severity::Severity;

/// One rule firing on one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub rule_id: String,
    pub severity: Severity,
    pub tags: Vec<String>,
    /// The rule's description: what happened and what to check first.
    #[serde(skip)]
    pub description: String,
    pub output: String,
    pub audit_id: String,
    pub cluster: String,
    pub account: String,
    pub user: String,
    pub identity_kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub verb: String,
    /// `resource` or `resource/subresource`.
    pub resource: String,
    pub namespace: String,
    pub name: String,
    pub request_uri: String,
    pub source_ip: String,
    pub source_ip_class: String,
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec_command: Option<String>,
    pub time: String,
    pub cw_event_id: String,
}

/// What a finding says about the rule that produced it.
#[derive(Debug, Clone, Copy)]
pub struct RuleRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub severity: Severity,
    pub tags: &'a [crate::rules::Text],
    pub desc: &'a str,
}

/// A finding of `rule` on one event.
pub fn finding(
    rule: RuleRef<'_>,
    output: String,
    event: &AuditEvent<'_>,
    enrichment: &Enrichment,
) -> Finding {
    let identity = enrichment.identity.as_ref();
    let resource = match event.subresource() {
        "" => event.resource().to_string(),
        sub => format!("{}/{sub}", event.resource()),
    };
    Finding {
        rule: rule.name.to_string(),
        rule_id: rule.id.to_string(),
        severity: rule.severity,
        tags: rule.tags.iter().map(|t| t.to_string()).collect(),
        description: rule.desc.to_string(),
        output,
        audit_id: event.audit_id().to_string(),
        cluster: enrichment.batch.cluster.clone(),
        account: enrichment.batch.account.clone(),
        user: event.username().to_string(),
        identity_kind: identity
            .map(|i| i.kind.as_str())
            .unwrap_or("other")
            .to_string(),
        arn: identity.and_then(|i| i.arn.clone()),
        verb: event.verb().to_string(),
        resource,
        namespace: event.namespace().to_string(),
        name: event.name().to_string(),
        request_uri: event.request_uri().to_string(),
        source_ip: enrichment
            .source_ip
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        source_ip_class: enrichment
            .source_ip_class
            .map(|c| c.as_str())
            .unwrap_or("unknown")
            .to_string(),
        user_agent: event.user_agent().to_string(),
        response_code: event.response_code(),
        decision: enrichment.decision.as_deref().map(str::to_string),
        exec_command: enrichment.exec.as_ref().map(|e| e.command_line.clone()),
        time: event.time().to_string(),
        cw_event_id: enrichment.cw_event_id.to_string(),
    }
}

/// Evaluates `rules` and returns the findings.
pub fn detect(
    rules: &RuleSet,
    matching: RuleMatching,
    event: &AuditEvent<'_>,
    enrichment: &Enrichment,
    memo: &BatchMemo,
) -> Vec<Finding> {
    let view = EventView {
        event,
        enrichment: Some(enrichment),
    };
    rules
        .evaluate_in_batch(&view, matching, memo)
        .into_iter()
        .map(|m| {
            let info = &rules.rules()[m.rule];
            let rule = RuleRef {
                id: &info.id,
                name: &info.name,
                severity: info.severity,
                tags: &info.tags,
                desc: &info.desc,
            };
            finding(rule, m.output, event, enrichment)
        })
        .collect()
}

pub fn detection_refs(findings: &[Finding]) -> Vec<DetectionRef> {
    findings
        .iter()
        .map(|f| DetectionRef {
            id: f.rule_id.clone(),
            rule: f.rule.clone(),
            severity: f.severity,
        })
        .collect()
}
