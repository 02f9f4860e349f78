//! Stage 4: what an on-call engineer needs next to the raw event, under one reserved
//! top-level key ([`ENRICHMENT_KEY`]) so the audit event's own fields stay where Logs
//! Insights and Athena users expect them.

use std::borrow::Cow;
use std::net::IpAddr;
use std::rc::Rc;

use serde::Serialize;

use super::decode::{LogEvent, LogsData};
use super::event::AuditEvent;
use super::ipintel::IpIntel;
use crate::doc::{EnrichmentDoc, JsonDoc};
use crate::json_out::{ObjectWriter, WriteJson};
use crate::severity::Severity;
use crate::timefmt;

/// The reserved top-level key of archived events. No audit-event field has this name.
pub const ENRICHMENT_KEY: &str = "eaw";

/// Facts shared by every event of one batch. Every archived event carries the first five
/// (serialised as they are here, flattened into its enrichment).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchContext {
    pub cluster: String,
    pub account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    pub log_group: String,
    pub log_stream: String,
    /// The identities worked out so far in this batch.
    #[serde(skip)]
    pub identities: IdentityCache,
    /// The members above as JSON, written on first use (set the members before). Not
    /// public: `..Default::default()` fills it in struct literals.
    #[serde(skip)]
    pub(crate) members_json: std::cell::OnceCell<Box<[u8]>>,
}

/// Equal when the facts are (the rest are caches).
impl PartialEq for BatchContext {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.cluster,
            &self.account,
            &self.region,
            &self.log_group,
            &self.log_stream,
        ) == (
            &other.cluster,
            &other.account,
            &other.region,
            &other.log_group,
            &other.log_stream,
        )
    }
}

impl BatchContext {
    /// The batch's members of every enrichment, `"cluster":…,"logStream":…`, written once
    /// per batch instead of once per event.
    pub fn members_json(&self) -> &[u8] {
        self.members_json.get_or_init(|| {
            let mut json = Vec::new();
            let mut o = ObjectWriter::new(&mut json);
            o.str("cluster", &self.cluster);
            o.str("account", &self.account);
            if !self.region.is_empty() {
                o.str("region", &self.region);
            }
            o.str("logGroup", &self.log_group);
            o.str("logStream", &self.log_stream);
            o.finish();
            json[1..json.len() - 1].into()
        })
    }
}

/// Identities by the raw text of their event's `user` member, which is all [`identity`]
/// reads. A batch's events come from a few identities (the kubelets, the controllers, the
/// same person again and again), and working one out reads up to eight nested members,
/// each indexing its object or array on the way. Bounded, so a batch of all-different users
/// costs what it did without the cache.
#[derive(Debug, Clone, Default)]
pub struct IdentityCache {
    by_user: std::cell::RefCell<
        std::collections::HashMap<Box<str>, Rc<SharedIdentity>, foldhash::fast::RandomState>,
    >,
}

impl IdentityCache {
    const MAX_ENTRIES: usize = 1024;
    /// Longer `user` objects are worked out every time rather than kept.
    const MAX_KEY_BYTES: usize = 4096;

    /// `identity(event)`, from the cache when an earlier event had the same `user` text
    /// (shared, not copied: an identity is up to seven strings).
    pub fn identity(&self, event: &AuditEvent<'_>) -> Rc<SharedIdentity> {
        let Some(user) = event
            .member_text("user")
            .filter(|u| u.len() <= Self::MAX_KEY_BYTES)
        else {
            return SharedIdentity::new(identity(event));
        };
        if let Some(known) = self.by_user.borrow().get(user) {
            return Rc::clone(known);
        }
        let worked_out = SharedIdentity::new(identity(event));
        let mut by_user = self.by_user.borrow_mut();
        if by_user.len() < Self::MAX_ENTRIES {
            by_user.insert(user.into(), Rc::clone(&worked_out));
        }
        worked_out
    }
}

impl BatchContext {
    /// The cluster comes from `/aws/eks/<cluster>/cluster`, else the configured name.
    pub fn new(data: &LogsData, default_cluster: Option<&str>, region: Option<&str>) -> Self {
        let cluster = cluster_from_log_group(&data.log_group)
            .map(str::to_string)
            .or_else(|| default_cluster.map(str::to_string))
            .unwrap_or_else(|| "unknown".to_string());
        BatchContext {
            cluster,
            account: data.owner.clone(),
            region: region.unwrap_or_default().to_string(),
            log_group: data.log_group.clone(),
            log_stream: data.log_stream.clone(),
            ..BatchContext::default()
        }
    }
}

pub fn cluster_from_log_group(group: &str) -> Option<&str> {
    let rest = group.strip_prefix("/aws/eks/")?;
    let cluster = rest.strip_suffix("/cluster")?;
    (!cluster.is_empty() && !cluster.contains('/')).then_some(cluster)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IdentityKind {
    IamRole,
    Sso,
    IamUser,
    Node,
    ServiceAccount,
    Anonymous,
    EksInternal,
    Other,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::IamRole => "iam-role",
            IdentityKind::Sso => "sso",
            IdentityKind::IamUser => "iam-user",
            IdentityKind::Node => "node",
            IdentityKind::ServiceAccount => "service-account",
            IdentityKind::Anonymous => "anonymous",
            IdentityKind::EksInternal => "eks-internal",
            IdentityKind::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub kind: IdentityKind,
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

impl WriteJson for Identity {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = ObjectWriter::new(out);
        o.str("kind", self.kind.as_str());
        o.str("username", &self.username);
        o.opt_str("arn", self.arn.as_deref());
        o.opt_str("canonicalArn", self.canonical_arn.as_deref());
        o.opt_str("sessionName", self.session_name.as_deref());
        o.opt_str("accessKeyId", self.access_key_id.as_deref());
        o.opt_str("principalId", self.principal_id.as_deref());
        o.opt_str("accountId", self.account_id.as_deref());
        o.finish();
    }
}

/// An identity as the events of a batch share it, with its JSON written once: a batch
/// comes from a few identities, whose eight members were otherwise written again for every
/// archived event that carries them.
#[derive(Debug, PartialEq)]
pub struct SharedIdentity {
    identity: Identity,
    /// `identity` as [`WriteJson`] writes it.
    json: Box<[u8]>,
}

impl SharedIdentity {
    pub fn new(identity: Identity) -> Rc<SharedIdentity> {
        let mut json = Vec::new();
        identity.write_json(&mut json);
        Rc::new(SharedIdentity {
            identity,
            json: json.into_boxed_slice(),
        })
    }
}

impl std::ops::Deref for SharedIdentity {
    type Target = Identity;
    fn deref(&self) -> &Identity {
        &self.identity
    }
}

impl Serialize for SharedIdentity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.identity.serialize(serializer)
    }
}

impl WriteJson for SharedIdentity {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.json);
    }
}

/// Control-plane identities that are not `eks:*` but are EKS's own.
const CONTROL_PLANE_USERS: &[&str] = &[
    "system:kube-controller-manager",
    "system:kube-scheduler",
    "system:apiserver",
    "kube-apiserver-kubelet-client",
    "system:kube-proxy",
];

pub fn identity(event: &dyn JsonDoc) -> Identity {
    // Leaf by leaf: a pipeline event then parses these strings only, not `user` whole.
    let username = event
        .string_in(&["user", "username"])
        .unwrap_or("")
        .to_string();
    // The first entry of a `user.extra` list.
    let extra = |key: &str| {
        event
            .string_in(&["user", "extra", key, "0"])
            .map(str::to_string)
    };
    let arn = extra("arn").or_else(|| username.starts_with("arn:").then(|| username.clone()));
    let canonical_arn = extra("canonicalArn");
    // aws-iam-authenticator:<account>:<principal id>
    let uid = event.string_in(&["user", "uid"]).unwrap_or("");
    let account_id = uid
        .strip_prefix("aws-iam-authenticator:")
        .and_then(|r| r.split(':').next())
        .map(str::to_string)
        .or_else(|| {
            arn.as_deref()
                .and_then(|a| a.split(':').nth(4))
                .map(str::to_string)
        })
        .filter(|a| !a.is_empty());

    let kind = if username == "system:anonymous"
        || event.array_has_string(&["user", "groups"], "system:unauthenticated")
    {
        IdentityKind::Anonymous
    } else if username.starts_with("system:node:") {
        IdentityKind::Node
    } else if username.starts_with("system:serviceaccount:") {
        IdentityKind::ServiceAccount
    } else if username.starts_with("eks:") || CONTROL_PLANE_USERS.contains(&username.as_str()) {
        IdentityKind::EksInternal
    } else if let Some(a) = arn.as_deref() {
        arn_kind(a, canonical_arn.as_deref())
    } else {
        IdentityKind::Other
    };
    Identity {
        kind,
        username,
        arn,
        canonical_arn,
        session_name: extra("sessionName"),
        access_key_id: extra("accessKeyId"),
        principal_id: extra("principalId"),
        account_id,
    }
}

fn arn_kind(arn: &str, canonical: Option<&str>) -> IdentityKind {
    let sso =
        |a: &str| a.contains("/AWSReservedSSO_") || a.contains("/aws-reserved/sso.amazonaws.com/");
    if sso(arn) || canonical.is_some_and(sso) {
        IdentityKind::Sso
    } else if arn.contains(":assumed-role/") || arn.contains(":role/") {
        IdentityKind::IamRole
    } else if arn.contains(":user/") || arn.ends_with(":root") {
        IdentityKind::IamUser
    } else {
        IdentityKind::Other
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpClass {
    Loopback,
    Private,
    Public,
    Unknown,
}

impl IpClass {
    pub fn as_str(self) -> &'static str {
        match self {
            IpClass::Loopback => "loopback",
            IpClass::Private => "private",
            IpClass::Public => "public",
            IpClass::Unknown => "unknown",
        }
    }
}

pub fn classify_ip(ip: &str) -> IpClass {
    match ip.parse::<IpAddr>() {
        Err(_) => IpClass::Unknown,
        Ok(ip) if ip.is_loopback() => IpClass::Loopback,
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            // RFC 1918, link-local, and 100.64/10 (EKS secondary CIDRs for pods).
            if v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
                IpClass::Private
            } else {
                IpClass::Public
            }
        }
        Ok(IpAddr::V6(v6)) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_ip(&v4.to_string());
            }
            let s = v6.segments()[0];
            if (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80 {
                IpClass::Private
            } else {
                IpClass::Public
            }
        }
    }
}

/// The decoded `kubectl exec`/`attach` request: the command lives only in the URL query.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecInfo {
    pub command: Vec<String>,
    /// The command as a shell would show it (arguments with spaces quoted).
    pub command_line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub tty: bool,
    pub stdin: bool,
}

pub fn exec_info(event: &AuditEvent) -> Option<ExecInfo> {
    if event.resource() != "pods" || !matches!(event.subresource(), "exec" | "attach") {
        return None;
    }
    let query = event
        .request_uri()
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or("");
    let mut info = ExecInfo {
        command: Vec::new(),
        command_line: String::new(),
        container: None,
        tty: false,
        stdin: false,
    };
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "command" => info.command.push(v.into_owned()),
            "container" => info.container = Some(v.into_owned()),
            "tty" => info.tty = v == "true" || v == "1",
            "stdin" => info.stdin = v == "true" || v == "1",
            _ => {}
        }
    }
    info.command_line = info
        .command
        .iter()
        .map(|a| shell_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    Some(info)
}

fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// A detection that fired on this event, as recorded in the archive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionRef {
    pub id: String,
    pub rule: String,
    pub severity: Severity,
}

/// Everything the pipeline adds to an event, serialised under [`ENRICHMENT_KEY`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrichment<'a> {
    // Batch and CloudWatch facts borrowed, not copied into every event.
    #[serde(flatten)]
    pub batch: &'a BatchContext,
    pub cw_event_id: &'a str,
    pub cw_timestamp: i64,
    pub cw_time: timefmt::Rfc3339Ms,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Rc<SharedIdentity>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_class: Option<IpClass>,
    /// In AWS's published EC2 ranges (embedded snapshot): NAT gateways, AWS services.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_aws: Option<bool>,
    /// In the operator's TRUSTED_CIDRS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_trusted: Option<bool>,
    /// The indicator list the address is on (`tor-exit`, or a user list's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip_indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detections: Vec<DetectionRef>,
    /// Set only on a message that could not be parsed (kept raw beside it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
}

/// By hand, member for member as the derived `Serialize` writes it (a test holds the two
/// equal): serde's generic path was a quarter of the time spent writing each archive line.
impl WriteJson for Enrichment<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        let mut o = ObjectWriter::new(out);
        o.members(self.batch.members_json());
        o.str("cwEventId", self.cw_event_id);
        o.i64("cwTimestamp", self.cw_timestamp);
        o.str("cwTime", &self.cw_time);
        if let Some(id) = &self.identity {
            id.write_json(o.key("identity"));
        }
        o.opt_str("decision", self.decision.as_deref());
        o.opt_str("reason", self.reason.as_deref());
        if let Some(ms) = self.latency_ms {
            o.serde("latencyMs", &ms);
        }
        o.opt_str("sourceIp", self.source_ip.as_deref());
        o.opt_str("sourceIpClass", self.source_ip_class.map(IpClass::as_str));
        if let Some(aws) = self.source_ip_aws {
            o.bool("sourceIpAws", aws);
        }
        if let Some(trusted) = self.source_ip_trusted {
            o.bool("sourceIpTrusted", trusted);
        }
        o.opt_str("sourceIpIndicator", self.source_ip_indicator.as_deref());
        // Rare members: serde writes them.
        if let Some(exec) = &self.exec {
            o.serde("exec", exec);
        }
        if !self.redacted.is_empty() {
            o.str_list("redacted", &self.redacted);
        }
        if !self.detections.is_empty() {
            o.serde("detections", &self.detections);
        }
        o.opt_str("parseError", self.parse_error.as_deref());
        o.finish();
    }
}

/// The rules' `eaw.*` fields read the struct directly: building its `Value` for every event
/// cost more than evaluating the rules.
impl EnrichmentDoc for Enrichment<'_> {
    fn field(&self, pointer: &str) -> Option<Cow<'_, str>> {
        let b = |v: bool| Some(Cow::Borrowed(if v { "true" } else { "false" }));
        let id = self.identity.as_ref();
        match pointer {
            "/cluster" => Some(Cow::Borrowed(&self.batch.cluster)),
            "/account" => Some(Cow::Borrowed(&self.batch.account)),
            "/region" if self.batch.region.is_empty() => None,
            "/region" => Some(Cow::Borrowed(&self.batch.region)),
            "/identity/kind" => id.map(|i| Cow::Borrowed(i.kind.as_str())),
            "/identity/username" => id.map(|i| Cow::Borrowed(i.username.as_str())),
            "/identity/arn" => id?.arn.as_deref().map(Cow::Borrowed),
            "/identity/canonicalArn" => id?.canonical_arn.as_deref().map(Cow::Borrowed),
            "/identity/sessionName" => id?.session_name.as_deref().map(Cow::Borrowed),
            "/sourceIp" => self.source_ip.as_deref().map(Cow::Borrowed),
            "/sourceIpClass" => self.source_ip_class.map(|c| Cow::Borrowed(c.as_str())),
            "/sourceIpAws" => self.source_ip_aws.and_then(b),
            "/sourceIpTrusted" => self.source_ip_trusted.and_then(b),
            "/sourceIpIndicator" => self.source_ip_indicator.as_deref().map(Cow::Borrowed),
            "/exec/commandLine" => self.exec.as_ref().map(|e| Cow::Borrowed(&*e.command_line)),
            "/decision" => self.decision.as_deref().map(Cow::Borrowed),
            "/reason" => self.reason.as_deref().map(Cow::Borrowed),
            // Anything else through the serialised form (same answers, slower).
            other => {
                let v = serde_json::to_value(self).ok()?;
                EnrichmentDoc::field(&v, other).map(|c| Cow::Owned(c.into_owned()))
            }
        }
    }
}

/// The batch and CloudWatch facts, for an event that may not have parsed.
pub fn base<'a>(ctx: &'a BatchContext, log: &'a LogEvent) -> Enrichment<'a> {
    Enrichment {
        batch: ctx,
        cw_event_id: &log.id,
        cw_timestamp: log.timestamp,
        cw_time: timefmt::Rfc3339Ms::new(log.timestamp),
        identity: None,
        decision: None,
        reason: None,
        latency_ms: None,
        source_ip: None,
        source_ip_class: None,
        source_ip_aws: None,
        source_ip_trusted: None,
        source_ip_indicator: None,
        exec: None,
        redacted: Vec::new(),
        detections: Vec::new(),
        parse_error: None,
    }
}

pub fn enrich<'a>(
    event: &'a AuditEvent<'_>,
    ctx: &'a BatchContext,
    log: &'a LogEvent,
    intel: &IpIntel,
) -> Enrichment<'a> {
    let annotation = |k: &str| event.string_in(&["annotations", k]).map(Cow::Borrowed);
    let latency_ms = match (
        timefmt::parse_rfc3339_micros(event.str_in(&["requestReceivedTimestamp"])),
        timefmt::parse_rfc3339_micros(event.str_in(&["stageTimestamp"])),
    ) {
        (Some(a), Some(b)) if b >= a => Some((b - a) as f64 / 1000.0),
        _ => None,
    };
    // The last entry is the address the API server saw; earlier ones come from
    // X-Forwarded-For and can be forged by the client.
    let source_ip = event.last_string_of("sourceIPs").map(Cow::Borrowed);
    let facts = source_ip
        .as_deref()
        .map(|ip| intel.lookup(ip))
        .unwrap_or_default();
    Enrichment {
        identity: Some(ctx.identities.identity(event)),
        source_ip_aws: source_ip.as_ref().map(|_| facts.aws),
        source_ip_trusted: source_ip.as_ref().map(|_| facts.trusted),
        source_ip_indicator: facts.indicator,
        decision: annotation("authorization.k8s.io/decision"),
        reason: annotation("authorization.k8s.io/reason"),
        latency_ms,
        source_ip_class: source_ip.as_deref().map(classify_ip),
        source_ip,
        exec: exec_info(event),
        ..base(ctx, log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn ev(v: Value) -> AuditEvent<'static> {
        AuditEvent::from_value(&v)
    }

    #[test]
    fn cluster_from_the_log_group_else_configured() {
        assert_eq!(
            cluster_from_log_group("/aws/eks/prod-eu-1/cluster"),
            Some("prod-eu-1")
        );
        assert_eq!(cluster_from_log_group("/aws/lambda/x"), None);
        let data = LogsData {
            log_group: "/custom/group".into(),
            ..Default::default()
        };
        assert_eq!(
            BatchContext::new(&data, Some("fallback"), None).cluster,
            "fallback"
        );
        assert_eq!(BatchContext::new(&data, None, None).cluster, "unknown");
    }

    #[test]
    fn identity_kinds() {
        let kind = |user: Value| identity(&json!({ "user": user })).kind;
        let iam = json!({"username": "kubernetes-admin", "uid": "aws-iam-authenticator:111122223333:AROAX",
            "extra": {"arn": ["arn:aws:sts::111122223333:assumed-role/Admin/alice"],
                      "canonicalArn": ["arn:aws:iam::111122223333:role/Admin"],
                      "sessionName": ["alice"], "accessKeyId": ["ASIAX"], "principalId": ["AROAX"]}});
        let full = identity(&json!({ "user": iam.clone() }));
        assert_eq!(full.kind, IdentityKind::IamRole);
        assert_eq!(
            full.canonical_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        assert_eq!(full.session_name.as_deref(), Some("alice"));
        assert_eq!(full.account_id.as_deref(), Some("111122223333"));
        assert_eq!(full.principal_id.as_deref(), Some("AROAX"));
        assert_eq!(
            kind(json!({"username": "arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_abc/bob"})),
            IdentityKind::Sso
        );
        assert_eq!(
            kind(json!({"username": "arn:aws:iam::1:user/carol"})),
            IdentityKind::IamUser
        );
        assert_eq!(
            kind(json!({"username": "system:node:ip-10-0-1-2.ec2.internal"})),
            IdentityKind::Node
        );
        assert_eq!(
            kind(json!({"username": "system:serviceaccount:default:app"})),
            IdentityKind::ServiceAccount
        );
        assert_eq!(
            kind(json!({"username": "system:anonymous"})),
            IdentityKind::Anonymous
        );
        assert_eq!(
            kind(json!({"username": "x", "groups": ["system:unauthenticated"]})),
            IdentityKind::Anonymous
        );
        assert_eq!(
            kind(json!({"username": "eks:addon-manager"})),
            IdentityKind::EksInternal
        );
        assert_eq!(
            kind(json!({"username": "system:kube-controller-manager"})),
            IdentityKind::EksInternal
        );
        assert_eq!(kind(json!({"username": "bob"})), IdentityKind::Other);
    }

    #[test]
    fn ip_classes() {
        assert_eq!(classify_ip("127.0.0.1"), IpClass::Loopback);
        assert_eq!(classify_ip("::1"), IpClass::Loopback);
        assert_eq!(classify_ip("10.0.1.2"), IpClass::Private);
        assert_eq!(classify_ip("172.31.0.9"), IpClass::Private);
        assert_eq!(classify_ip("100.64.3.4"), IpClass::Private);
        assert_eq!(classify_ip("fd00::1"), IpClass::Private);
        assert_eq!(classify_ip("203.0.113.10"), IpClass::Public);
        assert_eq!(classify_ip("2600:1f18::1"), IpClass::Public);
        assert_eq!(classify_ip("::ffff:10.1.2.3"), IpClass::Private);
        assert_eq!(classify_ip("not-an-ip"), IpClass::Unknown);
    }

    #[test]
    fn exec_command_is_decoded_from_the_query() {
        let e = ev(json!({
            "requestURI": "/api/v1/namespaces/kube-system/pods/coredns-1/exec?command=sh&command=-c&command=cat%20%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=coredns&stdin=true&stdout=true&tty=true",
            "objectRef": {"resource": "pods", "subresource": "exec", "namespace": "kube-system"}
        }));
        let x = exec_info(&e).unwrap();
        assert_eq!(
            x.command,
            [
                "sh",
                "-c",
                "cat /var/run/secrets/kubernetes.io/serviceaccount/token"
            ]
        );
        assert_eq!(
            x.command_line,
            "sh -c 'cat /var/run/secrets/kubernetes.io/serviceaccount/token'"
        );
        assert_eq!(x.container.as_deref(), Some("coredns"));
        assert!(x.tty && x.stdin);
        let logs = ev(
            json!({"requestURI": "/api/v1/namespaces/a/pods/b/log", "objectRef": {"resource": "pods", "subresource": "log"}}),
        );
        assert!(exec_info(&logs).is_none());
    }

    #[test]
    fn enrich_fills_decision_latency_and_source() {
        let e = ev(json!({
            "user": {"username": "alice"},
            "sourceIPs": ["198.51.100.1", "10.0.0.5"],
            "requestReceivedTimestamp": "2026-11-24T10:15:30.100000Z",
            "stageTimestamp": "2026-11-24T10:15:30.112500Z",
            "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed"}
        }));
        let ctx = BatchContext {
            cluster: "c".into(),
            ..Default::default()
        };
        let log = LogEvent {
            id: "id1".into(),
            timestamp: 1_795_515_330_123,
            message: String::new(),
        };
        let en = enrich(&e, &ctx, &log, &IpIntel::default());
        assert_eq!(en.decision.as_deref(), Some("allow"));
        assert_eq!(en.latency_ms, Some(12.5));
        assert_eq!(en.source_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(en.source_ip_class, Some(IpClass::Private));
        assert_eq!(en.cw_time, "2026-11-24T10:15:30.123Z");
        let v = serde_json::to_value(&en).unwrap();
        assert_eq!(v["identity"]["kind"], "other");
        assert_eq!(v["sourceIpClass"], "private");
        assert!(v.get("parseError").is_none());
    }

    /// Rules read `eaw.*` from the struct; archives and fixtures hold its JSON. Both must
    /// answer alike for every pointer the rule fields use.
    #[test]
    fn enrichment_fields_read_from_the_struct_equal_its_json() {
        let full = ev(json!({
            "user": {"username": "arn:aws:sts::1:assumed-role/Admin/alice", "extra": {
                "canonicalArn": ["arn:aws:iam::1:role/Admin"], "sessionName": ["alice"]}},
            "sourceIPs": ["203.0.113.9"],
            "requestURI": "/api/v1/namespaces/a/pods/b/exec?command=sh&container=c",
            "objectRef": {"resource": "pods", "subresource": "exec"},
            "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "r"}
        }));
        let ctx = BatchContext {
            cluster: "c".into(),
            account: "1".into(),
            region: "eu-west-1".into(),
            ..Default::default()
        };
        let log = LogEvent::default();
        let rich = enrich(&full, &ctx, &log, &IpIntel::default());
        let empty = BatchContext::default();
        let bare = base(&empty, &log);
        let pointers = [
            "/cluster",
            "/account",
            "/region",
            "/identity/kind",
            "/identity/username",
            "/identity/arn",
            "/identity/canonicalArn",
            "/identity/sessionName",
            "/sourceIp",
            "/sourceIpClass",
            "/sourceIpAws",
            "/sourceIpTrusted",
            "/sourceIpIndicator",
            "/exec/commandLine",
            "/decision",
            "/reason",
            "/cwEventId",
            "/exec/tty",
        ];
        for en in [&rich, &bare] {
            let v = serde_json::to_value(en).unwrap();
            for p in pointers {
                assert_eq!(
                    EnrichmentDoc::field(en, p),
                    EnrichmentDoc::field(&v, p),
                    "{p}"
                );
            }
        }
        assert_eq!(
            EnrichmentDoc::field(&rich, "/exec/commandLine").as_deref(),
            Some("sh")
        );
    }

    /// A batch's cache gives each event the identity its own `user` gives: on a generated
    /// hour (people through IAM roles, nodes, service accounts, the control plane, anonymous)
    /// repeated users come from the cache, and a `user` that differs is worked out again.
    #[test]
    fn cached_identities_are_each_events_own() {
        let cache = IdentityCache::default();
        let corpus = crate::corpus::Corpus::new(crate::corpus::CorpusSpec {
            seed: 5,
            attacks: true,
            ..Default::default()
        });
        let mut kinds = std::collections::HashSet::new();
        let mut events = 0;
        for e in corpus.take(4000) {
            let Ok(ev) = AuditEvent::parse(&e.message) else {
                continue;
            };
            let expected = identity(&ev);
            assert_eq!(**cache.identity(&ev), expected, "{}", e.message);
            kinds.insert(format!("{:?}", expected.kind));
            events += 1;
        }
        let cached = cache.by_user.borrow().len();
        assert!(
            events > 3000 && cached < events / 10,
            "{cached} of {events}"
        );
        assert!(kinds.len() >= 5, "{kinds:?}");
        let text = |user: &str| format!(r#"{{"auditID":"a","verb":"get","user":{user}}}"#);
        let alice = text(r#"{"username":"arn:aws:iam::1:user/alice"}"#);
        let root = text(r#"{"username":"arn:aws:iam::1:root"}"#);
        let first = cache.identity(&AuditEvent::parse(&alice).unwrap());
        let second = cache.identity(&AuditEvent::parse(&root).unwrap());
        assert_eq!(first.username, "arn:aws:iam::1:user/alice");
        assert_eq!(second.username, "arn:aws:iam::1:root");
        assert_eq!(second.kind, IdentityKind::IamUser);
        assert_eq!(cache.identity(&AuditEvent::parse(&alice).unwrap()), first);
    }

    /// The hand-written archive JSON is what the derived `Serialize` writes: for the
    /// corpus's enrichments, an empty one, and one with every member set (escapes included).
    #[test]
    fn the_written_enrichment_is_what_serde_writes() {
        let ctx = BatchContext {
            cluster: "prod \"eu\"".into(),
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            log_group: "/aws/eks/prod/cluster".into(),
            log_stream: "kube-apiserver-audit-1".into(),
            ..Default::default()
        };
        let intel =
            IpIntel::embedded(crate::pipeline::cidr::CidrSet::parse_list("10.0.0.0/8").unwrap());
        let same = |en: &Enrichment| {
            let mut ours = Vec::new();
            en.write_json(&mut ours);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(en).unwrap()
            );
        };
        for (i, text) in crate::corpus::Corpus::messages(9, 400).iter().enumerate() {
            let event = AuditEvent::parse(text).unwrap();
            let log = LogEvent {
                id: format!("3{i:055}"),
                timestamp: 1_764_000_000_000 + i as i64,
                message: String::new(),
            };
            same(&enrich(&event, &ctx, &log, &intel));
        }
        let log = LogEvent::default();
        let empty = BatchContext::default();
        let event = ev(
            json!({"user": {"username": "arn:aws:sts::1:assumed-role/Admin/al\tice",
                "uid": "aws-iam-authenticator:1:AROA", "extra": {"canonicalArn": ["arn:aws:iam::1:role/Admin"],
                "sessionName": ["al\u{1}ice"], "accessKeyId": ["ASIA"], "principalId": ["AROA"]}},
                "sourceIPs": ["10.1.2.3"],
                "requestURI": "/api/v1/namespaces/a/pods/b/exec?command=sh&command=-c&command=id%20-u&container=c&tty=1",
                "objectRef": {"resource": "pods", "subresource": "exec"},
                "requestReceivedTimestamp": "2026-11-25T10:00:00.000000Z",
                "stageTimestamp": "2026-11-25T10:00:00.123456Z",
                "annotations": {"authorization.k8s.io/decision": "forbid",
                    "authorization.k8s.io/reason": "RBAC: \"no\" <rule>"}}),
        );
        let mut full = enrich(&event, &ctx, &log, &intel);
        full.source_ip_indicator = Some("tor-exit".into());
        full.redacted = vec!["requestObject.data.k".into(), "x\"y".into()];
        full.detections = vec![DetectionRef {
            id: "EKS-1".into(),
            rule: "A \"rule\"".into(),
            severity: Severity::High,
        }];
        full.parse_error = Some("line 1\n".into());
        assert!(
            full.identity
                .as_ref()
                .is_some_and(|i| i.account_id.is_some())
        );
        assert!(full.exec.is_some() && full.latency_ms.is_some() && full.decision.is_some());
        same(&full);
        same(&base(&empty, &log));
    }
}
