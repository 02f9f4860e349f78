//! Within-batch detections (rows B1–B4 of the catalogue). A subscription batch is a few
//! seconds of one log stream, so a burst shows up inside one batch; no state is kept
//! between invocations. Thresholds are configuration (`BATCH_THRESHOLDS`,
//! `scan --batch-thresholds`); 0 switches a detection off.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use super::detect::{Finding, RuleRef, finding};
use super::enrich::{Enrichment, IdentityKind};
use super::event::AuditEvent;
use crate::severity::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchThresholds {
    /// B1: forbidden (403) responses from one source IP or one user.
    pub forbidden: u32,
    /// B2: distinct resource types listed by one actor, some of them denied.
    pub discovery: u32,
    /// B3: distinct secrets read by one actor.
    pub secret_reads: u32,
    /// B4: anonymous requests answered 401/403.
    pub anonymous: u32,
}

impl Default for BatchThresholds {
    fn default() -> Self {
        BatchThresholds {
            forbidden: 10,
            discovery: 8,
            secret_reads: 10,
            anonymous: 5,
        }
    }
}

impl FromStr for BatchThresholds {
    type Err = String;

    /// `forbidden=10,discovery=8,secret-reads=10,anonymous=5` (any subset).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut t = BatchThresholds::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("expected name=number, got {part:?}"))?;
            let n: u32 = v
                .trim()
                .parse()
                .map_err(|_| format!("expected a whole number for {k}, got {v:?}"))?;
            match k.trim() {
                "forbidden" => t.forbidden = n,
                "discovery" => t.discovery = n,
                "secret-reads" => t.secret_reads = n,
                "anonymous" => t.anonymous = n,
                other => {
                    return Err(format!(
                        "unknown threshold {other:?} (forbidden, discovery, secret-reads, anonymous)"
                    ));
                }
            }
        }
        Ok(t)
    }
}

/// The descriptions of the within-batch detections (they also appear in `rules list`).
pub struct BatchRule {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub tags: &'static [&'static str],
    pub desc: &'static str,
}

pub const BATCH_RULES: [BatchRule; 4] = [
    BatchRule {
        id: "EKS-B1",
        name: "Burst of forbidden requests",
        severity: Severity::Medium,
        tags: &[
            "eks",
            "batch",
            "mitre_discovery",
            "mitre_credential_access",
            "T1613",
            "T1110",
        ],
        desc: "Many requests from one source IP or one identity were refused (403) within a few seconds. Credentials with too little access are being used to probe the cluster, or a workload is badly misconfigured. Check first: who owns the identity and the source IP, what they tried to reach, and whether the same identity succeeded at anything else.",
    },
    BatchRule {
        id: "EKS-B2",
        name: "Discovery sweep",
        severity: Severity::Medium,
        tags: &["eks", "batch", "mitre_discovery", "T1613", "T1069"],
        desc: "One identity listed many different resource types within a few seconds and some were refused: the pattern of enumeration tools mapping what a stolen credential can see. Check first: the identity and source IP, the user agent, and whether this identity normally runs such tooling.",
    },
    BatchRule {
        id: "EKS-B3",
        name: "Bulk secret reads",
        severity: Severity::High,
        tags: &["eks", "batch", "mitre_credential_access", "T1552.007"],
        desc: "One identity read many different Secrets within a few seconds. That is how credentials are harvested from a cluster. Check first: the identity and source IP, which namespaces the secrets were in, and rotate what was read if the actor is not expected.",
    },
    BatchRule {
        id: "EKS-B4",
        name: "Failed anonymous probes",
        severity: Severity::Medium,
        tags: &[
            "eks",
            "batch",
            "mitre_discovery",
            "mitre_initial_access",
            "T1595",
            "T1133",
        ],
        desc: "Several unauthenticated requests were refused within a few seconds: someone is probing the API server endpoint. Check first: the source IPs, whether the cluster endpoint needs to be public, and the endpoint's allowed CIDRs.",
    },
];

#[derive(Default)]
struct Tally {
    count: u32,
    sample: Option<Finding>,
    users: BTreeSet<String>,
    ips: BTreeSet<String>,
    things: BTreeSet<String>,
    denied: u32,
}

/// Collects the few facts the batch detections need while events stream by.
pub struct BatchAggregator {
    t: BatchThresholds,
    forbidden_by_ip: BTreeMap<String, Tally>,
    forbidden_by_user: BTreeMap<String, Tally>,
    discovery: HashMap<String, Tally>,
    secret_reads: HashMap<String, Tally>,
    anonymous: Tally,
}

fn rule_ref(i: usize) -> (RuleRef<'static>, Vec<String>) {
    let r = &BATCH_RULES[i];
    let tags: Vec<String> = r.tags.iter().map(|s| s.to_string()).collect();
    (
        RuleRef {
            id: r.id,
            name: r.name,
            severity: r.severity,
            tags: &[],
            desc: r.desc,
        },
        tags,
    )
}

fn note(t: &mut Tally, rule: usize, event: &AuditEvent<'_>, en: &Enrichment) {
    t.count += 1;
    if t.sample.is_none() {
        let (r, tags) = rule_ref(rule);
        let mut f = finding(r, String::new(), event, en);
        f.tags = tags;
        t.sample = Some(f);
    }
    // Checked first: the same few users and addresses come back event after event, and
    // inserting would copy the string each time.
    let user = event.username();
    if !t.users.contains(user) {
        t.users.insert(user.to_string());
    }
    if let Some(ip) = en.source_ip.as_deref()
        && !t.ips.contains(ip)
    {
        t.ips.insert(ip.to_string());
    }
}

fn system_actor(en: &Enrichment) -> bool {
    matches!(
        en.identity.as_ref().map(|i| i.kind),
        Some(IdentityKind::Node) | Some(IdentityKind::EksInternal)
    )
}

fn list(set: &BTreeSet<String>) -> String {
    let shown: Vec<&str> = set.iter().take(8).map(String::as_str).collect();
    let more = set.len().saturating_sub(shown.len());
    if more > 0 {
        format!("{} (+{more} more)", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

impl BatchAggregator {
    pub fn new(t: BatchThresholds) -> Self {
        BatchAggregator {
            t,
            forbidden_by_ip: BTreeMap::new(),
            forbidden_by_user: BTreeMap::new(),
            discovery: HashMap::new(),
            secret_reads: HashMap::new(),
            anonymous: Tally::default(),
        }
    }

    pub fn observe(&mut self, event: &AuditEvent<'_>, en: &Enrichment) {
        let code = event.response_code().unwrap_or(0);
        let denied = code == 403 || en.decision.as_deref() == Some("forbid");
        let anonymous = en.identity.as_ref().map(|i| i.kind) == Some(IdentityKind::Anonymous);
        let user = event.username();
        if self.t.forbidden > 0 && denied && !anonymous {
            if let Some(ip) = &en.source_ip {
                note(
                    self.forbidden_by_ip.entry(ip.to_string()).or_default(),
                    0,
                    event,
                    en,
                );
            }
            note(
                self.forbidden_by_user.entry(user.to_string()).or_default(),
                0,
                event,
                en,
            );
        }
        if self.t.discovery > 0
            && event.verb() == "list"
            && !system_actor(en)
            && !user.starts_with("system:serviceaccount:kube-system:")
        {
            let t = self.discovery.entry(user.to_string()).or_default();
            note(t, 1, event, en);
            let group = event.str_in(&["objectRef", "apiGroup"]);
            t.things.insert(if group.is_empty() {
                event.resource().to_string()
            } else {
                format!("{}.{group}", event.resource())
            });
            if denied {
                t.denied += 1;
            }
        }
        if self.t.secret_reads > 0
            && event.resource() == "secrets"
            && event.verb() == "get"
            && (200..400).contains(&code)
            && !denied
            && !system_actor(en)
            && !user.starts_with("system:serviceaccount:kube-system:")
        {
            let t = self.secret_reads.entry(user.to_string()).or_default();
            note(t, 2, event, en);
            t.things
                .insert(format!("{}/{}", event.namespace(), event.name()));
        }
        if self.t.anonymous > 0 && anonymous && (code == 401 || code == 403) {
            note(&mut self.anonymous, 3, event, en);
        }
    }

    pub fn finish(self) -> Vec<Finding> {
        let t = self.t;
        let mut out = Vec::new();
        let mut reported_ips = BTreeSet::new();
        for (ip, tally) in self.forbidden_by_ip {
            if tally.count >= t.forbidden {
                reported_ips.insert(ip.clone());
                out.push(emit(tally, |x| {
                    format!(
                        "{} forbidden responses from source IP {ip} in one batch (identities: {})",
                        x.count,
                        list(&x.users)
                    )
                }));
            }
        }
        for (user, tally) in self.forbidden_by_user {
            // The same burst already reported by its single source IP is not paged twice.
            let covered =
                tally.ips.len() == 1 && tally.ips.iter().all(|ip| reported_ips.contains(ip));
            if tally.count >= t.forbidden && !covered {
                out.push(emit(tally, |x| {
                    format!(
                        "{} forbidden responses for {user} in one batch (source IPs: {})",
                        x.count,
                        list(&x.ips)
                    )
                }));
            }
        }
        let mut discovery: Vec<_> = self.discovery.into_iter().collect();
        discovery.sort_by(|a, b| a.0.cmp(&b.0));
        for (user, tally) in discovery {
            if tally.things.len() as u32 >= t.discovery && tally.denied > 0 {
                out.push(emit(tally, |x| {
                    format!(
                        "{user} listed {} resource types in one batch, {} denied: {}",
                        x.things.len(),
                        x.denied,
                        list(&x.things)
                    )
                }));
            }
        }
        let mut reads: Vec<_> = self.secret_reads.into_iter().collect();
        reads.sort_by(|a, b| a.0.cmp(&b.0));
        for (user, tally) in reads {
            if tally.things.len() as u32 >= t.secret_reads {
                out.push(emit(tally, |x| {
                    format!(
                        "{user} read {} distinct secrets in one batch: {}",
                        x.things.len(),
                        list(&x.things)
                    )
                }));
            }
        }
        if t.anonymous > 0 && self.anonymous.count >= t.anonymous {
            out.push(emit(self.anonymous, |x| {
                format!(
                    "{} anonymous requests refused in one batch from {}",
                    x.count,
                    list(&x.ips)
                )
            }));
        }
        out
    }
}

fn emit(tally: Tally, output: impl Fn(&Tally) -> String) -> Finding {
    let text = output(&tally);
    let mut f = tally.sample.expect("a tally with events has a sample");
    f.output = text;
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::decode::LogEvent;
    use crate::pipeline::enrich::{BatchContext, enrich};
    use serde_json::json;

    fn run(t: BatchThresholds, events: Vec<serde_json::Value>) -> Vec<Finding> {
        let ctx = BatchContext {
            cluster: "c".into(),
            ..Default::default()
        };
        let log = LogEvent::default();
        let mut agg = BatchAggregator::new(t);
        for v in events {
            let ev = AuditEvent::from_value(&v);
            let en = enrich(
                &ev,
                &ctx,
                &log,
                &crate::pipeline::ipintel::IpIntel::default(),
            );
            agg.observe(&ev, &en);
        }
        agg.finish()
    }

    fn ev(
        user: &str,
        ip: &str,
        verb: &str,
        resource: &str,
        name: &str,
        code: i64,
    ) -> serde_json::Value {
        json!({"auditID": format!("{user}-{resource}-{name}-{code}"), "verb": verb, "user": {"username": user},
               "sourceIPs": [ip], "objectRef": {"resource": resource, "namespace": "ns", "name": name},
               "responseStatus": {"code": code}})
    }

    #[test]
    fn thresholds_parse_and_reject_nonsense() {
        let t: BatchThresholds = "forbidden=3, anonymous=0".parse().unwrap();
        assert_eq!((t.forbidden, t.anonymous, t.discovery), (3, 0, 8));
        assert!("forbidden=x".parse::<BatchThresholds>().is_err());
        assert!("loud=1".parse::<BatchThresholds>().is_err());
    }

    #[test]
    fn forbidden_burst_fires_once_per_source_at_the_threshold() {
        let burst = |n: usize| {
            (0..n)
                .map(|i| ev("bob", "198.51.100.7", "get", "nodes", &i.to_string(), 403))
                .collect()
        };
        let t = BatchThresholds {
            forbidden: 10,
            ..Default::default()
        };
        assert!(run(t, burst(9)).is_empty());
        let f = run(t, burst(10));
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "EKS-B1");
        assert!(
            f[0].output
                .starts_with("10 forbidden responses from source IP 198.51.100.7"),
            "{}",
            f[0].output
        );
        assert!(f[0].tags.contains(&"T1613".to_string()));
    }

    #[test]
    fn bulk_secret_reads_count_distinct_secrets_and_skip_nodes() {
        let t = BatchThresholds {
            secret_reads: 3,
            ..Default::default()
        };
        let reads = |user: &str| {
            (0..3)
                .map(|i| ev(user, "10.0.0.1", "get", "secrets", &format!("s{i}"), 200))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(t, reads("alice"))[0].rule_id, "EKS-B3");
        assert!(run(t, reads("system:node:ip-10-0-0-1.ec2.internal")).is_empty());
        let same = (0..5)
            .map(|_| ev("alice", "10.0.0.1", "get", "secrets", "one", 200))
            .collect();
        assert!(
            run(t, same).is_empty(),
            "the same secret five times is one secret"
        );
    }

    #[test]
    fn discovery_needs_breadth_and_a_denial() {
        let t = BatchThresholds {
            discovery: 3,
            ..Default::default()
        };
        let sweep = |last_code: i64| {
            vec![
                ev("mallory", "198.51.100.9", "list", "pods", "", 200),
                ev("mallory", "198.51.100.9", "list", "services", "", 200),
                ev("mallory", "198.51.100.9", "list", "secrets", "", last_code),
            ]
        };
        assert!(run(t, sweep(200)).is_empty());
        assert_eq!(run(t, sweep(403))[0].rule_id, "EKS-B2");
    }

    #[test]
    fn anonymous_probes() {
        let t = BatchThresholds {
            anonymous: 2,
            ..Default::default()
        };
        let probe = |i: i64| {
            json!({"auditID": i.to_string(), "verb": "get", "user": {"username": "system:anonymous", "groups": ["system:unauthenticated"]},
            "sourceIPs": ["203.0.113.66"], "requestURI": "/api/v1/secrets", "responseStatus": {"code": 403}})
        };
        let f = run(t, vec![probe(1), probe(2)]);
        assert_eq!(f.len(), 1, "anonymous denials are B4, not B1: {f:?}");
        assert_eq!(f[0].rule_id, "EKS-B4");
        assert!(
            run(
                BatchThresholds { anonymous: 0, ..t },
                vec![probe(1), probe(2)]
            )
            .is_empty()
        );
    }
}
