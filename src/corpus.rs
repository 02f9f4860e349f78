//! Deterministic generator of realistic Amazon EKS API-server audit traffic.
//!
//! [`Corpus`] is an endless iterator of [`GeneratedEvent`]s: one audit event each, written as
//! EKS writes it into CloudWatch Logs (compact JSON on one line, Go's escaping of `&`, `<`,
//! `>`), with its CloudWatch timestamp. The same [`CorpusSpec`] always yields the same events.
//!
//! The traffic is that of a busy 30-node cluster: kubelet leases and status patches,
//! controllers' watches and lists, leader election, EKS's own `eks:*` components, kubelets'
//! token reviews and projected-token requests, people reading with kubectl through EKS access
//! entries, CI/CD and Argo CD deploying (RequestResponse bodies, with a tail of 50-200 KB
//! objects), health probes and non-final stages. Ordinary traffic is benign: it must not
//! trip a medium-or-higher detection. With `attacks` about 0.2% of events are suspicious.
//!
//! Levels follow EKS's fixed audit policy: secrets, configmaps and tokenreviews at Metadata
//! (so ConfigMap writes carry no body: the large tail is CRDs, PrometheusRules and Argo CD
//! Application status), kubelet status patches and reads at Request, writes at
//! RequestResponse, leases at Metadata.
//!
//! Self-contained: no dependency outside `std` (tests use `serde_json`).

use std::collections::BTreeMap;

const REGION: &str = "eu-west-1";
/// The AWS-owned account EKS's own components assume roles in (an example value).
const EKS_SERVICE_ACCOUNT: &str = "444455556666";
const KUBELET_UA: &str = "kubelet/v1.31.2-eks-7f9249a (linux/amd64) kubernetes/7f9249a";
const KCM_UA: &str = "kube-controller-manager/v1.31.2-eks-7f9249a (linux/amd64) kubernetes/7f9249a";
const SCHED_UA: &str = "kube-scheduler/v1.31.2-eks-7f9249a (linux/amd64) kubernetes/7f9249a";
const CCM_UA: &str = "aws-cloud-controller-manager/v0.0.0 (linux/amd64) kubernetes/$Format";
/// Control-plane ENI addresses (kube-controller-manager / cloud-controller-manager, scheduler).
const CP_IP_A: &str = "172.16.101.84";
const CP_IP_B: &str = "172.16.117.19";
/// AWS (EC2 eu-west-1) addresses EKS's cluster-manager Lambda calls from.
const WESLEY_IPS: [&str; 4] = [
    "52.209.44.180",
    "34.245.17.101",
    "52.213.107.40",
    "34.242.90.17",
];

// ---------------------------------------------------------------------------------------
// Public API

/// Traffic mix knobs. Default = a busy but ordinary cluster: no attacks, large bodies and
/// health probes / non-final stages on.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    pub seed: u64,
    /// Cluster name (appears in add-on config, node role and CI session names).
    pub cluster: String,
    /// AWS account id of the cluster.
    pub account: String,
    /// Epoch ms of the first event.
    pub start_ms: i64,
    /// Average event rate; controls the timestamps (events are spaced 1/rate apart).
    pub events_per_second: f64,
    /// When true about 0.2% of events are suspicious: aws-auth patch, exec into kube-system
    /// reading a token, privileged pod, anonymous request allowed, cluster-admin binding,
    /// secrets listed cluster-wide (round-robin, so each kind appears).
    pub attacks: bool,
    /// RequestResponse workload writes with realistic bodies, a tail of 50-200 KB objects
    /// (~0.1% of events) and EKS add-on DaemonSet patches. When false, CI/CD bodies are
    /// compact and the large tail is off.
    pub large_bodies: bool,
    /// `/readyz`, `/livez`, `/healthz` probes (~3%) and RequestReceived/ResponseStarted
    /// stages (~3%), which the subscription filter pattern drops.
    pub health_probes: bool,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            seed: 0x5EED_EC5A_0D17,
            cluster: "bench-cluster".to_string(),
            account: "111122223333".to_string(),
            start_ms: 1_795_510_800_000,
            events_per_second: 40.0,
            attacks: false,
            large_bodies: true,
            health_probes: true,
        }
    }
}

/// One audit event as EKS writes it into CloudWatch: compact JSON on one line, and its
/// CloudWatch timestamp (epoch ms; equal to the event's stageTimestamp truncated to ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedEvent {
    pub timestamp_ms: i64,
    pub message: String,
}

/// A deterministic, endless stream: the same spec always yields the same events.
pub struct Corpus {
    world: World,
    g: Gen,
    /// Cumulative weights of the enabled categories.
    table: Vec<(f64, Cat)>,
    attacks: bool,
    large_bodies: bool,
    health_probes: bool,
    start_us: i64,
    spacing_us: f64,
    index: u64,
    /// Completions of requests whose earlier stage was already emitted, keyed by
    /// (due event index, sequence).
    pending: BTreeMap<(u64, u64), Pending>,
    pending_seq: u64,
    attack_counter: u64,
}

impl Corpus {
    /// The first `n` messages (audit events as JSON text) of the default traffic mix with
    /// attacks, from `seed`: what the tests and micro-benchmarks run over.
    pub fn messages(seed: u64, n: usize) -> Vec<String> {
        Corpus::new(CorpusSpec {
            seed,
            attacks: true,
            ..CorpusSpec::default()
        })
        .take(n)
        .map(|e| e.message)
        .collect()
    }

    pub fn new(spec: CorpusSpec) -> Corpus {
        let mut rng = Rng::new(spec.seed);
        let world = World::build(&spec, &mut rng);
        let eps = if spec.events_per_second.is_finite() && spec.events_per_second > 0.0 {
            spec.events_per_second
        } else {
            40.0
        };
        let mut table = Vec::new();
        let mut acc = 0.0;
        for &(cat, w) in MIX {
            let enabled = match cat {
                Cat::LargeObject | Cat::EksAddonUpdate => spec.large_bodies,
                Cat::HealthProbe | Cat::NonFinalStage => spec.health_probes,
                _ => true,
            };
            if enabled {
                acc += w;
                table.push((acc, cat));
            }
        }
        Corpus {
            world,
            g: Gen {
                rng,
                rv: 48_200_000,
                large_bodies: spec.large_bodies,
            },
            table,
            attacks: spec.attacks,
            large_bodies: spec.large_bodies,
            health_probes: spec.health_probes,
            start_us: spec.start_ms.saturating_mul(1000),
            spacing_us: 1e6 / eps,
            index: 0,
            pending: BTreeMap::new(),
            pending_seq: 0,
            attack_counter: 0,
        }
    }

    fn slot_time(&mut self, i: u64) -> i64 {
        // Uniform spacing with jitter inside the first 90% of each slot: non-decreasing.
        let base = self.start_us + (i as f64 * self.spacing_us) as i64;
        let jitter = (self.g.rng.f64() * 0.9 * self.spacing_us) as i64;
        base + jitter
    }

    /// The next event and its category.
    fn next_event(&mut self) -> (GeneratedEvent, Cat) {
        let i = self.index;
        self.index += 1;
        let t = self.slot_time(i);
        if let Some((&key, _)) = self.pending.iter().next()
            && key.0 <= i
        {
            let p = self.pending.remove(&key).expect("present");
            let mut msg = String::with_capacity(p.prefix.len() + p.suffix.len() + 32);
            msg.push_str(&p.prefix);
            push_ts_us(&mut msg, t);
            msg.push_str(&p.suffix);
            return (
                GeneratedEvent {
                    timestamp_ms: t.div_euclid(1000),
                    message: msg,
                },
                p.cat,
            );
        }
        let mut b = String::with_capacity(2048);
        let cat = if self.attacks && self.g.rng.chance(0.002) {
            let k = ATTACKS[(self.attack_counter % ATTACKS.len() as u64) as usize];
            self.attack_counter += 1;
            k
        } else {
            let total = self.table.last().map(|x| x.0).unwrap_or(1.0);
            let r = self.g.rng.f64() * total;
            let idx = self.table.partition_point(|x| x.0 <= r);
            self.table[idx.min(self.table.len() - 1)].1
        };
        let w = &self.world;
        let g = &mut self.g;
        let mut later: Option<Later> = None;
        match cat {
            Cat::NodeLease => node_lease(g, w, &mut b, t),
            Cat::NodeStatus => node_status(g, w, &mut b, t),
            Cat::PodStatus => pod_status(g, w, &mut b, t),
            Cat::ControllerRead => controller_read(g, w, &mut b, t, Stage::Complete),
            Cat::LeaderElection => leader_election(g, w, &mut b, t),
            Cat::ControllerWrite => controller_write(g, w, &mut b, t),
            Cat::EksComponent => eks_component(g, w, &mut b, t),
            Cat::EksAddonUpdate => eks_addon_update(g, w, &mut b, t),
            Cat::SecretConfigmapRead => secret_configmap_read(g, w, &mut b, t, Stage::Complete),
            Cat::HumanRead => human_read(g, w, &mut b, t, Stage::Complete),
            Cat::HumanDenied => human_denied(g, w, &mut b, t),
            Cat::CiDeploy => ci_deploy(g, w, &mut b, t),
            Cat::LargeObject => large_object(g, w, &mut b, t),
            Cat::SchedulerBinding => scheduler_binding(g, w, &mut b, t),
            Cat::PodCreate => pod_create(g, w, &mut b, t),
            Cat::TokenReview => token_review(g, w, &mut b, t),
            Cat::ServiceAccountToken => serviceaccount_token(g, w, &mut b, t),
            Cat::HealthProbe => health_probe(g, w, &mut b, t),
            Cat::NonFinalStage => {
                later = Some(non_final_stage(g, w, &mut b, t, self.spacing_us));
            }
            Cat::AttackAwsAuth => attack_aws_auth(g, w, &mut b, t),
            Cat::AttackExecToken => attack_exec(g, w, &mut b, t),
            Cat::AttackPrivilegedPod => attack_privileged(g, w, &mut b, t),
            Cat::AttackAnonymous => attack_anonymous(g, w, &mut b, t),
            Cat::AttackClusterAdmin => attack_cluster_admin(g, w, &mut b, t),
            Cat::AttackSecretsList => attack_secrets_list(g, w, &mut b, t),
        }
        if let Some(l) = later {
            let key = (i + l.after.max(1), self.pending_seq);
            self.pending_seq += 1;
            self.pending.insert(
                key,
                Pending {
                    prefix: l.prefix,
                    suffix: l.suffix,
                    cat: l.cat,
                },
            );
        }
        (
            GeneratedEvent {
                timestamp_ms: t.div_euclid(1000),
                message: b,
            },
            cat,
        )
    }

    /// The spec's switches, for callers that want to label a run.
    pub fn describe(&self) -> String {
        format!(
            "attacks={} large_bodies={} health_probes={} spacing_us={:.1}",
            self.attacks, self.large_bodies, self.health_probes, self.spacing_us
        )
    }
}

impl Iterator for Corpus {
    type Item = GeneratedEvent;
    fn next(&mut self) -> Option<GeneratedEvent> {
        Some(self.next_event().0)
    }
}

/// The category of each generated event, for the benchmark's report: (category, count) for
/// the first `n` events of `spec`'s stream, in a fixed order, categories with no event left
/// out. Completions of earlier non-final stages count in their request's category.
pub fn category_counts(spec: &CorpusSpec, n: usize) -> Vec<(&'static str, usize)> {
    let mut c = Corpus::new(spec.clone());
    let mut counts = vec![0usize; ALL_CATS.len()];
    for _ in 0..n {
        let (_, cat) = c.next_event();
        counts[cat as usize] += 1;
    }
    ALL_CATS
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| (c.name(), n))
        .collect()
}

// ---------------------------------------------------------------------------------------
// Categories and mix

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cat {
    NodeLease,
    NodeStatus,
    PodStatus,
    ControllerRead,
    LeaderElection,
    ControllerWrite,
    EksComponent,
    EksAddonUpdate,
    SecretConfigmapRead,
    HumanRead,
    HumanDenied,
    CiDeploy,
    LargeObject,
    SchedulerBinding,
    PodCreate,
    TokenReview,
    ServiceAccountToken,
    HealthProbe,
    NonFinalStage,
    AttackAwsAuth,
    AttackExecToken,
    AttackPrivilegedPod,
    AttackAnonymous,
    AttackClusterAdmin,
    AttackSecretsList,
}

const ALL_CATS: [Cat; 25] = [
    Cat::NodeLease,
    Cat::NodeStatus,
    Cat::PodStatus,
    Cat::ControllerRead,
    Cat::LeaderElection,
    Cat::ControllerWrite,
    Cat::EksComponent,
    Cat::EksAddonUpdate,
    Cat::SecretConfigmapRead,
    Cat::HumanRead,
    Cat::HumanDenied,
    Cat::CiDeploy,
    Cat::LargeObject,
    Cat::SchedulerBinding,
    Cat::PodCreate,
    Cat::TokenReview,
    Cat::ServiceAccountToken,
    Cat::HealthProbe,
    Cat::NonFinalStage,
    Cat::AttackAwsAuth,
    Cat::AttackExecToken,
    Cat::AttackPrivilegedPod,
    Cat::AttackAnonymous,
    Cat::AttackClusterAdmin,
    Cat::AttackSecretsList,
];

const ATTACKS: [Cat; 6] = [
    Cat::AttackAwsAuth,
    Cat::AttackExecToken,
    Cat::AttackPrivilegedPod,
    Cat::AttackAnonymous,
    Cat::AttackClusterAdmin,
    Cat::AttackSecretsList,
];

impl Cat {
    fn name(self) -> &'static str {
        match self {
            Cat::NodeLease => "kubelet_node_lease",
            Cat::NodeStatus => "kubelet_node_status_patch",
            Cat::PodStatus => "kubelet_pod_status_patch",
            Cat::ControllerRead => "controller_watch_list_get",
            Cat::LeaderElection => "leader_election_lease",
            Cat::ControllerWrite => "controller_write",
            Cat::EksComponent => "eks_component",
            Cat::EksAddonUpdate => "eks_addon_daemonset_patch",
            Cat::SecretConfigmapRead => "secret_configmap_read",
            Cat::HumanRead => "human_kubectl_read",
            Cat::HumanDenied => "human_denied_403",
            Cat::CiDeploy => "cicd_deploy",
            Cat::LargeObject => "large_object_apply",
            Cat::SchedulerBinding => "scheduler_binding",
            Cat::PodCreate => "replicaset_pod_create",
            Cat::TokenReview => "node_tokenreview",
            Cat::ServiceAccountToken => "kubelet_serviceaccount_token",
            Cat::HealthProbe => "health_probe",
            Cat::NonFinalStage => "non_final_stage",
            Cat::AttackAwsAuth => "attack_aws_auth_patch",
            Cat::AttackExecToken => "attack_exec_kube_system_token",
            Cat::AttackPrivilegedPod => "attack_privileged_pod",
            Cat::AttackAnonymous => "attack_anonymous_allowed",
            Cat::AttackClusterAdmin => "attack_cluster_admin_binding",
            Cat::AttackSecretsList => "attack_secrets_list_cluster_wide",
        }
    }
}

/// Relative weights (percent of ordinary traffic).
const MIX: &[(Cat, f64)] = &[
    (Cat::NodeLease, 30.0),
    (Cat::NodeStatus, 10.0),
    (Cat::PodStatus, 6.0),
    (Cat::ControllerRead, 13.0),
    (Cat::LeaderElection, 6.0),
    (Cat::ControllerWrite, 3.0),
    (Cat::EksComponent, 3.5),
    (Cat::EksAddonUpdate, 0.02),
    (Cat::SecretConfigmapRead, 6.0),
    (Cat::HumanRead, 5.0),
    (Cat::HumanDenied, 0.03),
    (Cat::CiDeploy, 2.0),
    (Cat::LargeObject, 0.1),
    (Cat::SchedulerBinding, 1.0),
    (Cat::PodCreate, 1.0),
    (Cat::TokenReview, 2.0),
    (Cat::ServiceAccountToken, 2.0),
    (Cat::HealthProbe, 3.0),
    (Cat::NonFinalStage, 2.4),
];

struct Pending {
    prefix: String,
    suffix: String,
    cat: Cat,
}

/// A completion to emit `after` events from now.
struct Later {
    after: u64,
    prefix: String,
    suffix: String,
    cat: Cat,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Received,
    Started,
    Complete,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Received => "RequestReceived",
            Stage::Started => "ResponseStarted",
            Stage::Complete => "ResponseComplete",
        }
    }
}

// ---------------------------------------------------------------------------------------
// PRNG (SplitMix64)

#[derive(Clone)]
struct Rng(u64);

const SUFFIX_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
const HEX: &[u8] = b"0123456789abcdef";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

impl Rng {
    fn new(seed: u64) -> Rng {
        let mut r = Rng(seed ^ 0x6A09_E667_F3BC_C908);
        r.next_u64();
        r
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
    fn idx(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }
    fn pick<'a, T>(&mut self, s: &'a [T]) -> &'a T {
        &s[self.idx(s.len())]
    }
    /// A latency in µs: `min_us` plus an exponential tail of mean `mean_extra_us`.
    fn latency(&mut self, min_us: i64, mean_extra_us: f64) -> i64 {
        let u = 1.0 - self.f64();
        min_us + (-u.ln() * mean_extra_us) as i64
    }
    fn push_chars(&mut self, b: &mut String, alphabet: &[u8], n: usize) {
        for _ in 0..n {
            b.push(alphabet[self.idx(alphabet.len())] as char);
        }
    }
    fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        let mut s = String::with_capacity(n);
        self.push_chars(&mut s, alphabet, n);
        s
    }
    /// A version-4-shaped UUID.
    fn push_uuid(&mut self, b: &mut String) {
        let a = self.next_u64();
        let c = self.next_u64();
        let mut out = [0u8; 36];
        let mut k = 0;
        for (i, slot) in out.iter_mut().enumerate() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                *slot = b'-';
                continue;
            }
            let nib = if k < 16 {
                (a >> (k * 4)) & 0xF
            } else {
                (c >> ((k - 16) * 4)) & 0xF
            };
            k += 1;
            *slot = HEX[nib as usize];
        }
        out[14] = b'4';
        out[19] = b"89ab"[(c >> 62) as usize];
        b.push_str(std::str::from_utf8(&out).expect("ascii"));
    }
    fn uuid(&mut self) -> String {
        let mut s = String::with_capacity(36);
        self.push_uuid(&mut s);
        s
    }
}

// ---------------------------------------------------------------------------------------
// Time and JSON helpers

use crate::timefmt::civil_from_days;

fn push_2(b: &mut String, v: u32) {
    b.push((b'0' + (v / 10) as u8) as char);
    b.push((b'0' + (v % 10) as u8) as char);
}

fn push_date_time(b: &mut String, secs: i64) {
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400) as u32;
    let (y, m, d) = civil_from_days(days);
    push_u64(b, y as u64);
    b.push('-');
    push_2(b, m);
    b.push('-');
    push_2(b, d);
    b.push('T');
    push_2(b, sod / 3600);
    b.push(':');
    push_2(b, sod / 60 % 60);
    b.push(':');
    push_2(b, sod % 60);
}

/// RFC 3339 with microseconds, as the audit log writes requestReceived/stageTimestamp.
fn push_ts_us(b: &mut String, us: i64) {
    push_date_time(b, us.div_euclid(1_000_000));
    b.push('.');
    let frac = us.rem_euclid(1_000_000) as u32;
    let mut digits = [b'0'; 6];
    let mut v = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    b.push_str(std::str::from_utf8(&digits).expect("ascii"));
    b.push('Z');
}

/// RFC 3339 to the second, as object metadata writes it.
fn push_ts_s(b: &mut String, us: i64) {
    push_date_time(b, us.div_euclid(1_000_000));
    b.push('Z');
}

fn ts_s(us: i64) -> String {
    let mut s = String::with_capacity(20);
    push_ts_s(&mut s, us);
    s
}

fn push_u64(b: &mut String, v: u64) {
    let mut buf = [0; 20];
    let digits = crate::json_out::decimal(v, &mut buf);
    b.push_str(std::str::from_utf8(digits).expect("ascii"));
}

/// A JSON string literal, escaped the way Go's encoding/json does (HTML-safe: `&`, `<`, `>`
/// as \u00XX), which is how the API server writes audit events.
fn push_json_str(b: &mut String, s: &str) {
    b.push('"');
    push_json_str_body(b, s);
    b.push('"');
}

fn push_json_str_body(b: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc: Option<&str> = match c {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            b'&' => Some("\\u0026"),
            b'<' => Some("\\u003c"),
            b'>' => Some("\\u003e"),
            0..=0x1F => None,
            _ => continue,
        };
        b.push_str(&s[start..i]);
        match esc {
            Some(e) => b.push_str(e),
            None => {
                b.push_str("\\u00");
                b.push(HEX[(c >> 4) as usize] as char);
                b.push(HEX[(c & 0xF) as usize] as char);
            }
        }
        start = i + 1;
    }
    b.push_str(&s[start..]);
}

// ---------------------------------------------------------------------------------------
// Identities

/// Who sends a request: pre-rendered `user` object, source IP, user agent and the
/// authorizer's reason for an allowed request.
struct Ident {
    name: String,
    user_json: String,
    ip: String,
    ua: String,
    reason: String,
}

fn ident_plain(name: &str, ip: &str, ua: &str, reason: &str) -> Ident {
    let mut u = String::from("{\"username\":");
    push_json_str(&mut u, name);
    u.push_str(",\"groups\":[\"system:authenticated\"]}");
    Ident {
        name: name.to_string(),
        user_json: u,
        ip: ip.to_string(),
        ua: ua.to_string(),
        reason: reason.to_string(),
    }
}

/// A user authenticated by aws-iam-authenticator (IAM role session).
#[allow(clippy::too_many_arguments)]
fn ident_iam(
    name: &str,
    account: &str,
    principal_id: &str,
    akid: &str,
    role: &str,
    session: &str,
    groups: &[&str],
    ip: &str,
    ua: &str,
    reason: &str,
) -> Ident {
    let mut u = String::from("{\"username\":");
    push_json_str(&mut u, name);
    u.push_str(",\"uid\":\"aws-iam-authenticator:");
    u.push_str(account);
    u.push(':');
    u.push_str(principal_id);
    u.push_str("\",\"groups\":[");
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            u.push(',');
        }
        push_json_str(&mut u, g);
    }
    u.push_str("],\"extra\":{\"accessKeyId\":[\"");
    u.push_str(akid);
    u.push_str("\"],\"arn\":[");
    push_json_str(
        &mut u,
        &format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
    );
    u.push_str("],\"canonicalArn\":[");
    push_json_str(&mut u, &format!("arn:aws:iam::{account}:role/{role}"));
    u.push_str("],\"principalId\":[\"");
    u.push_str(principal_id);
    u.push_str("\"],\"sessionName\":[");
    push_json_str(&mut u, session);
    u.push_str("]}}");
    Ident {
        name: name.to_string(),
        user_json: u,
        ip: ip.to_string(),
        ua: ua.to_string(),
        reason: reason.to_string(),
    }
}

/// A service account with a pod-bound projected token (`node` = Some) or a
/// kube-controller-manager controller token (`node` = None).
#[allow(clippy::too_many_arguments)]
fn ident_sa(
    rng: &mut Rng,
    ns: &str,
    sa: &str,
    pod: Option<(&str, &Node)>,
    ip: &str,
    ua: &str,
    reason: &str,
) -> Ident {
    let name = format!("system:serviceaccount:{ns}:{sa}");
    let mut u = String::from("{\"username\":");
    push_json_str(&mut u, &name);
    u.push_str(",\"uid\":\"");
    rng.push_uuid(&mut u);
    u.push_str("\",\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:");
    u.push_str(ns);
    u.push_str("\",\"system:authenticated\"],\"extra\":{\"authentication.kubernetes.io/credential-id\":[\"JTI=");
    rng.push_uuid(&mut u);
    u.push_str("\"]");
    if let Some((pod_name, node)) = pod {
        u.push_str(",\"authentication.kubernetes.io/node-name\":[\"");
        u.push_str(&node.name);
        u.push_str("\"],\"authentication.kubernetes.io/node-uid\":[\"");
        u.push_str(&node.uid);
        u.push_str("\"],\"authentication.kubernetes.io/pod-name\":[\"");
        u.push_str(pod_name);
        u.push_str("\"],\"authentication.kubernetes.io/pod-uid\":[\"");
        rng.push_uuid(&mut u);
        u.push_str("\"]");
    }
    u.push_str("}}");
    Ident {
        name,
        user_json: u,
        ip: ip.to_string(),
        ua: ua.to_string(),
        reason: reason.to_string(),
    }
}

fn rbac_crb(binding: &str, role: &str, subject: &str) -> String {
    format!(
        "RBAC: allowed by ClusterRoleBinding \"{binding}\" of ClusterRole \"{role}\" to {subject}"
    )
}

fn rbac_sa(binding: &str, role: &str, ns: &str, sa: &str) -> String {
    rbac_crb(binding, role, &format!("ServiceAccount \"{sa}/{ns}\""))
}

// ---------------------------------------------------------------------------------------
// The cluster

struct Node {
    name: String,
    ip: String,
    uid: String,
    ident: Ident,
    /// Pre-rendered `images` entries of its status.
    images: Vec<String>,
    /// Apps with a pod on this node (indices into World::apps).
    apps: Vec<usize>,
}

struct Pod {
    name: String,
    uid: String,
    node: usize,
    ip: String,
    container_id: String,
}

struct App {
    ns: &'static str,
    name: &'static str,
    team: usize,
    image: String,
    version: String,
    digest: String,
    port: u32,
    env: Vec<(String, String)>,
    replicas: u32,
    rs_hash: String,
    deploy_uid: String,
    rs_uid: String,
    pods: Vec<Pod>,
    secret: String,
}

/// (IAM role, session name, source IP, kubectl index, cluster-wide access, namespaces).
type Person = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    bool,
    Vec<&'static str>,
);

struct Human {
    ident: Ident,
    principal_id: String,
    role: &'static str,
    /// Namespaces of the team the person works on (indices into NAMESPACES).
    namespaces: Vec<&'static str>,
    /// Cluster-wide access policy (admin/view) or namespaced Edit.
    cluster_wide: bool,
    account: String,
}

struct Reader {
    ident: Ident,
    /// (resource, apiGroup, version, namespace or "" for cluster scope, object name or "").
    targets: Vec<(&'static str, &'static str, &'static str, String, String)>,
}

struct SecretReader {
    ident: Ident,
    /// (resource, namespace, name) — at most five distinct secrets each.
    targets: Vec<(&'static str, String, String)>,
}

struct Leader {
    ident: Ident,
    lease: &'static str,
    namespace: &'static str,
}

struct World {
    account: String,
    cluster: String,
    nodes: Vec<Node>,
    apps: Vec<App>,
    humans: Vec<Human>,
    /// Developers whose kubectl occasionally asks for more than they may see.
    deniable: Vec<usize>,
    ci: Ident,
    helm: Ident,
    argocd: Ident,
    scheduler: Ident,
    ccm: Ident,
    cert_ctrl: Ident,
    addon_mgr: Ident,
    node_mgr: Ident,
    rs_ctrl: Ident,
    eps_ctrl: Ident,
    hpa_ctrl: Ident,
    readers: Vec<Reader>,
    secret_readers: Vec<SecretReader>,
    leaders: Vec<Leader>,
    probes: Vec<Ident>,
    anon_attacker: Ident,
    coredns_pods: Vec<String>,
    aws_node_ds: String,
    kube_proxy_ds: String,
}

const NAMESPACES: [&str; 7] = [
    "payments", "checkout", "catalog", "orders", "identity", "web", "default",
];

const APPS: [(&str, &str, u32); 12] = [
    ("payments", "payments-api", 8080),
    ("payments", "payments-worker", 8080),
    ("checkout", "checkout-web", 3000),
    ("checkout", "checkout-api", 8080),
    ("catalog", "catalog-api", 8080),
    ("catalog", "catalog-indexer", 9090),
    ("orders", "orders-api", 8080),
    ("orders", "orders-consumer", 8080),
    ("identity", "auth-service", 8443),
    ("web", "storefront", 3000),
    ("web", "image-resizer", 8080),
    ("default", "web", 8080),
];

const ENV_KEYS: [&str; 32] = [
    "LOG_LEVEL",
    "LOG_FORMAT",
    "PORT",
    "METRICS_PORT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "AWS_REGION",
    "AWS_STS_REGIONAL_ENDPOINTS",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_POOL_MAX",
    "REDIS_URL",
    "KAFKA_BROKERS",
    "KAFKA_TOPIC",
    "KAFKA_CONSUMER_GROUP",
    "S3_BUCKET",
    "SQS_QUEUE_URL",
    "FEATURE_FLAGS_URL",
    "HTTP_TIMEOUT_MS",
    "RETRY_MAX_ATTEMPTS",
    "CACHE_TTL_SECONDS",
    "UPSTREAM_CATALOG_URL",
    "UPSTREAM_ORDERS_URL",
    "UPSTREAM_AUTH_URL",
    "JAVA_TOOL_OPTIONS",
    "GOMAXPROCS",
    "NODE_OPTIONS",
    "SENTRY_ENVIRONMENT",
    "DD_ENV",
    "TZ",
];

const KUBECTLS: [&str; 4] = [
    "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46",
    "kubectl/v1.28.4 (darwin/arm64) kubernetes/bae2c62",
    "kubectl/v1.30.4 (darwin/arm64) kubernetes/a51b3b7",
    "kubectl/v1.32.1 (windows/amd64) kubernetes/e9c9be4",
];

fn env_value(key: &str, app: &str, ns: &str, rng: &mut Rng) -> String {
    match key {
        "LOG_LEVEL" => "info".into(),
        "LOG_FORMAT" => "json".into(),
        "PORT" => "8080".into(),
        "METRICS_PORT" => "9102".into(),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => {
            "http://opentelemetry-collector.monitoring.svc.cluster.local:4317".into()
        }
        "OTEL_SERVICE_NAME" => app.into(),
        "OTEL_RESOURCE_ATTRIBUTES" => format!("service.namespace={ns},deployment.environment=prod"),
        "AWS_REGION" => REGION.into(),
        "AWS_STS_REGIONAL_ENDPOINTS" => "regional".into(),
        "DB_HOST" => format!("{ns}-db.cluster-c{}.{REGION}.rds.amazonaws.com", rng.chars(b"abcdefghijklmnopqrstuvwxyz0123456789", 12)),
        "DB_PORT" => "5432".into(),
        "DB_NAME" => ns.into(),
        "DB_POOL_MAX" => "20".into(),
        "REDIS_URL" => format!("rediss://{ns}-cache.abc123.ng.0001.euw1.cache.amazonaws.com:6379"),
        "KAFKA_BROKERS" => "b-1.prod-msk.kafka.eu-west-1.amazonaws.com:9098,b-2.prod-msk.kafka.eu-west-1.amazonaws.com:9098,b-3.prod-msk.kafka.eu-west-1.amazonaws.com:9098".into(),
        "KAFKA_TOPIC" => format!("{ns}.events.v1"),
        "KAFKA_CONSUMER_GROUP" => app.into(),
        "S3_BUCKET" => format!("{ns}-artifacts-prod"),
        "SQS_QUEUE_URL" => format!("https://sqs.{REGION}.amazonaws.com/111122223333/{app}-jobs"),
        "FEATURE_FLAGS_URL" => "http://flagd.platform.svc.cluster.local:8013".into(),
        "HTTP_TIMEOUT_MS" => "2500".into(),
        "RETRY_MAX_ATTEMPTS" => "3".into(),
        "CACHE_TTL_SECONDS" => "300".into(),
        "UPSTREAM_CATALOG_URL" => "http://catalog-api.catalog.svc.cluster.local:8080".into(),
        "UPSTREAM_ORDERS_URL" => "http://orders-api.orders.svc.cluster.local:8080".into(),
        "UPSTREAM_AUTH_URL" => "http://auth-service.identity.svc.cluster.local:8443".into(),
        "JAVA_TOOL_OPTIONS" => "-XX:MaxRAMPercentage=75 -XX:+UseG1GC -Dfile.encoding=UTF-8".into(),
        "GOMAXPROCS" => "2".into(),
        "NODE_OPTIONS" => "--max-old-space-size=384".into(),
        "SENTRY_ENVIRONMENT" => "production".into(),
        "DD_ENV" => "prod".into(),
        _ => "UTC".into(),
    }
}

impl World {
    fn build(spec: &CorpusSpec, rng: &mut Rng) -> World {
        let account = spec.account.clone();
        let cluster = spec.cluster.clone();
        let node_role = format!("{cluster}-node-role");
        let node_principal = format!("AROA{}", rng.chars(UPPER_ALNUM, 17));
        // Nodes.
        let mut nodes = Vec::new();
        let mut used = std::collections::BTreeSet::new();
        while nodes.len() < 30 {
            let third = rng.range(16, 111);
            let fourth = rng.range(4, 250);
            if !used.insert((third, fourth)) {
                continue;
            }
            let ip = format!("10.0.{third}.{fourth}");
            let name = format!("ip-10-0-{third}-{fourth}.{REGION}.compute.internal");
            let instance = format!("i-0{}", rng.chars(HEX, 16));
            let akid = format!("ASIA{}", rng.chars(UPPER_ALNUM, 16));
            let ident = ident_iam(
                &format!("system:node:{name}"),
                &account,
                &node_principal,
                &akid,
                &node_role,
                &instance,
                &[
                    "system:bootstrappers",
                    "system:nodes",
                    "system:authenticated",
                ],
                &ip,
                KUBELET_UA,
                "",
            );
            nodes.push(Node {
                name,
                ip,
                uid: rng.uuid(),
                ident,
                images: Vec::new(),
                apps: Vec::new(),
            });
        }
        // Apps and their pods.
        let mut apps = Vec::new();
        for (k, &(ns, name, port)) in APPS.iter().enumerate() {
            let replicas = rng.range(2, 4) as u32;
            let version = format!(
                "{}.{}.{}",
                rng.range(1, 3),
                rng.range(0, 24),
                rng.range(0, 12)
            );
            let image = format!("{account}.dkr.ecr.{REGION}.amazonaws.com/{ns}/{name}");
            let n_env = rng.range(8, 24) as usize;
            let start = rng.idx(ENV_KEYS.len());
            let env = (0..n_env)
                .map(|j| {
                    let key = ENV_KEYS[(start + j) % ENV_KEYS.len()];
                    (key.to_string(), env_value(key, name, ns, rng))
                })
                .collect();
            let rs_hash = rng.chars(SUFFIX_ALPHABET, 10);
            let mut pods = Vec::new();
            for _ in 0..replicas {
                let node = rng.idx(nodes.len());
                let nip = &nodes[node].ip;
                let third: u64 = nip
                    .split('.')
                    .nth(2)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(16);
                pods.push(Pod {
                    name: format!("{name}-{rs_hash}-{}", rng.chars(SUFFIX_ALPHABET, 5)),
                    uid: rng.uuid(),
                    node,
                    ip: format!("10.0.{}.{}", third, rng.range(2, 254)),
                    container_id: rng.chars(HEX, 64),
                });
                if !nodes[node].apps.contains(&k) {
                    nodes[node].apps.push(k);
                }
            }
            apps.push(App {
                ns,
                name,
                team: k / 2,
                image,
                version,
                digest: rng.chars(HEX, 64),
                port,
                env,
                replicas,
                rs_hash,
                deploy_uid: rng.uuid(),
                rs_uid: rng.uuid(),
                pods,
                secret: format!("{name}-env"),
            });
        }
        // Node image lists.
        let sys_images = [
            format!(
                "602401143452.dkr.ecr.{REGION}.amazonaws.com/amazon-k8s-cni:v1.18.5-eksbuild.1"
            ),
            format!(
                "602401143452.dkr.ecr.{REGION}.amazonaws.com/amazon-k8s-cni-init:v1.18.5-eksbuild.1"
            ),
            format!(
                "602401143452.dkr.ecr.{REGION}.amazonaws.com/amazon/aws-network-policy-agent:v1.1.5-eksbuild.1"
            ),
            format!(
                "602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/kube-proxy:v1.31.2-minimal-eksbuild.3"
            ),
            format!("602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/pause:3.5"),
            format!("602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/coredns:v1.11.3-eksbuild.2"),
            format!("602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/aws-ebs-csi-driver:v1.37.0"),
            format!(
                "602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/csi-node-driver-registrar:v2.12.0-eks-1-31-7"
            ),
            format!(
                "602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/livenessprobe:v2.14.0-eks-1-31-7"
            ),
            "quay.io/prometheus/node-exporter:v1.8.2".to_string(),
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4".to_string(),
        ];
        for node in nodes.iter_mut() {
            let mut list: Vec<String> = sys_images
                .iter()
                .map(|img| node_image_entry(rng, img))
                .collect();
            for &a in &node.apps {
                let app = &apps[a];
                list.push(node_image_entry(
                    rng,
                    &format!("{}:{}", app.image, app.version),
                ));
            }
            node.images = list;
        }
        // People (EKS access entries: the username is the session ARN).
        let admin_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
        let view_policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
        let people: [Person; 6] = [
            (
                "PlatformAdmin",
                "alice@example.com",
                "203.0.113.10",
                0,
                true,
                vec!["payments", "checkout", "default"],
            ),
            (
                "Developer",
                "bob@example.com",
                "203.0.113.25",
                1,
                false,
                vec!["payments", "checkout"],
            ),
            (
                "SRE",
                "carol@example.com",
                "10.100.4.23",
                0,
                true,
                vec!["orders", "catalog", "web"],
            ),
            (
                "Developer",
                "dave@example.com",
                "198.51.100.23",
                2,
                false,
                vec!["orders", "catalog"],
            ),
            (
                "ReadOnly",
                "erin@example.com",
                "192.0.2.44",
                3,
                true,
                vec!["identity", "web", "default"],
            ),
            (
                "Developer",
                "frank@example.com",
                "10.100.7.61",
                2,
                false,
                vec!["identity", "web"],
            ),
        ];
        let mut humans = Vec::new();
        let mut principals: BTreeMap<&str, String> = BTreeMap::new();
        for (role, session, ip, ua, cluster_wide, namespaces) in people {
            let principal = principals
                .entry(role)
                .or_insert_with(|| format!("AROA{}", rng.chars(UPPER_ALNUM, 17)))
                .clone();
            let name = format!("arn:aws:sts::{account}:assumed-role/{role}/{session}");
            let policy = if role == "ReadOnly" {
                view_policy
            } else {
                admin_policy
            };
            let reason = if cluster_wide {
                format!(
                    "EKS Access Policy: allowed by ClusterRoleBinding \"arn:aws:iam::{account}:role/{role}+{policy}\" of ClusterRole \"{policy}\" to User \"{principal}\""
                )
            } else {
                String::new() // namespaced: rendered per request
            };
            let akid = format!("ASIA{}", rng.chars(UPPER_ALNUM, 16));
            humans.push(Human {
                ident: ident_iam(
                    &name,
                    &account,
                    &principal,
                    &akid,
                    role,
                    session,
                    &["system:authenticated"],
                    ip,
                    KUBECTLS[ua],
                    &reason,
                ),
                principal_id: principal,
                role,
                namespaces,
                cluster_wide,
                account: account.clone(),
            });
        }
        let deniable = vec![1, 3, 5];
        // CI/CD.
        let ci_principal = format!("AROA{}", rng.chars(UPPER_ALNUM, 17));
        let ci_reason = format!(
            "EKS Access Policy: allowed by ClusterRoleBinding \"arn:aws:iam::{account}:role/GitHubActionsDeploy+{admin_policy}\" of ClusterRole \"{admin_policy}\" to User \"{ci_principal}\""
        );
        let ci_akid = format!("ASIA{}", rng.chars(UPPER_ALNUM, 16));
        let ci_session = "GitHubActions";
        let ci_name =
            format!("arn:aws:sts::{account}:assumed-role/GitHubActionsDeploy/{ci_session}");
        let ci = ident_iam(
            &ci_name,
            &account,
            &ci_principal,
            &ci_akid,
            "GitHubActionsDeploy",
            ci_session,
            &["system:authenticated"],
            "198.51.100.140",
            KUBECTLS[0],
            &ci_reason,
        );
        let helm = ident_iam(
            &ci_name,
            &account,
            &ci_principal,
            &ci_akid,
            "GitHubActionsDeploy",
            ci_session,
            &["system:authenticated"],
            "198.51.100.140",
            "Helm/3.16.2",
            &ci_reason,
        );
        let node0 = 0usize;
        let argocd = ident_sa(
            rng,
            "argocd",
            "argocd-application-controller",
            Some(("argocd-application-controller-0", &nodes[node0])),
            &format!(
                "10.0.{}.9",
                nodes[node0].ip.split('.').nth(2).unwrap_or("44")
            ),
            "argocd-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
            &rbac_sa(
                "argocd-application-controller",
                "argocd-application-controller",
                "argocd",
                "argocd-application-controller",
            ),
        );
        // Control plane.
        let scheduler = ident_plain(
            "system:kube-scheduler",
            CP_IP_B,
            &format!("{SCHED_UA}/scheduler"),
            &rbac_crb(
                "system:kube-scheduler",
                "system:kube-scheduler",
                "User \"system:kube-scheduler\"",
            ),
        );
        let ccm = ident_plain(
            "eks:cloud-controller-manager",
            CP_IP_A,
            &format!("{CCM_UA}/cloud-node-lifecycle-controller"),
            &rbac_crb(
                "eks:cloud-controller-manager",
                "eks:cloud-controller-manager",
                "User \"eks:cloud-controller-manager\"",
            ),
        );
        let cert_ctrl = ident_plain(
            "eks:certificate-controller",
            CP_IP_A,
            "eks-certificates-controller/v0.0.0 (linux/amd64) kubernetes/$Format",
            &rbac_crb(
                "eks:certificate-controller",
                "eks:certificate-controller",
                "User \"eks:certificate-controller\"",
            ),
        );
        let wesley = |rng: &mut Rng, user: &str, role: &str, ua: &str, reason: &str| {
            let principal = format!("AROA{}", rng.chars(UPPER_ALNUM, 17));
            let akid = format!("ASIA{}", rng.chars(UPPER_ALNUM, 16));
            let session = format!("17955{}", rng.range(10_000_000_000_000, 99_999_999_999_999));
            let ip = *rng.pick(&WESLEY_IPS);
            ident_iam(
                user,
                EKS_SERVICE_ACCOUNT,
                &principal,
                &akid,
                role,
                &session,
                &["system:authenticated"],
                ip,
                ua,
                reason,
            )
        };
        let addon_mgr = wesley(
            rng,
            "eks:addon-manager",
            "AWSWesleyClusterManagerLambda-Add-AddonManagerRole-1C2D3E4F5G6H7",
            "eks-addon-manager/v0.0.0 (linux/amd64) kubernetes/$Format",
            &rbac_crb(
                "eks:addon-cluster-admin",
                "cluster-admin",
                "User \"eks:addon-manager\"",
            ),
        );
        let node_mgr = wesley(
            rng,
            "eks:node-manager",
            "AWSWesleyClusterManagerLambda-NodeManagerRole-1W2X3Y4Z5A6B7",
            "eks-node-manager/v0.0.0 (linux/amd64) kubernetes/$Format",
            "RBAC: allowed by RoleBinding \"eks:node-manager/kube-system\" of Role \"eks:node-manager\" to User \"eks:node-manager\"",
        );
        let kcm_sa = |rng: &mut Rng, sa: &str| {
            ident_sa(
                rng,
                "kube-system",
                sa,
                None,
                CP_IP_A,
                &format!("{KCM_UA}/system:serviceaccount:kube-system:{sa}"),
                &rbac_sa(
                    &format!("system:controller:{sa}"),
                    &format!("system:controller:{sa}"),
                    "kube-system",
                    sa,
                ),
            )
        };
        let rs_ctrl = kcm_sa(rng, "replicaset-controller");
        let eps_ctrl = kcm_sa(rng, "endpointslice-controller");
        let hpa_ctrl = kcm_sa(rng, "horizontal-pod-autoscaler");
        // Add-on pods reading the API.
        let pod_ip = |rng: &mut Rng, node: &Node| {
            let third = node.ip.split('.').nth(2).unwrap_or("16").to_string();
            format!("10.0.{third}.{}", rng.range(2, 254))
        };
        let mut coredns_pods = Vec::new();
        let coredns_hash = rng.chars(SUFFIX_ALPHABET, 10);
        let mut readers = Vec::new();
        for _ in 0..2 {
            let n = rng.idx(nodes.len());
            let pod = format!("coredns-{coredns_hash}-{}", rng.chars(SUFFIX_ALPHABET, 5));
            let ip = pod_ip(rng, &nodes[n]);
            let ident = ident_sa(
                rng,
                "kube-system",
                "coredns",
                Some((&pod, &nodes[n])),
                &ip,
                "coredns/v0.0.0 (linux/amd64) kubernetes/$Format",
                &rbac_sa("system:coredns", "system:coredns", "kube-system", "coredns"),
            );
            coredns_pods.push(pod);
            readers.push(Reader {
                ident,
                targets: vec![
                    (
                        "endpointslices",
                        "discovery.k8s.io",
                        "v1",
                        String::new(),
                        String::new(),
                    ),
                    ("services", "", "v1", String::new(), String::new()),
                    ("namespaces", "", "v1", String::new(), String::new()),
                ],
            });
        }
        // aws-node (ipamd) on a few nodes: hostNetwork, so the node's IP.
        for _ in 0..6 {
            let n = rng.idx(nodes.len());
            let pod = format!("aws-node-{}", rng.chars(SUFFIX_ALPHABET, 5));
            let ip = nodes[n].ip.clone();
            let ident = ident_sa(
                rng,
                "kube-system",
                "aws-node",
                Some((&pod, &nodes[n])),
                &ip,
                "aws-k8s-agent/v0.0.0 (linux/amd64) kubernetes/$Format",
                &rbac_sa("aws-node", "aws-node", "kube-system", "aws-node"),
            );
            let node_name = nodes[n].name.clone();
            readers.push(Reader {
                ident,
                targets: vec![
                    ("nodes", "", "v1", String::new(), node_name),
                    (
                        "eniconfigs",
                        "crd.k8s.amazonaws.com",
                        "v1alpha1",
                        String::new(),
                        String::new(),
                    ),
                    ("pods", "", "v1", String::new(), String::new()),
                    (
                        "cninodes",
                        "networking.k8s.aws",
                        "v1alpha1",
                        String::new(),
                        String::new(),
                    ),
                ],
            });
        }
        let addon = |rng: &mut Rng,
                     ns: &str,
                     sa: &str,
                     pod_prefix: &str,
                     ua: &str,
                     crb: &str,
                     targets: Vec<(&'static str, &'static str, &'static str, String, String)>,
                     nodes: &[Node]| {
            let n = rng.idx(nodes.len());
            let pod = format!(
                "{pod_prefix}-{}-{}",
                rng.chars(SUFFIX_ALPHABET, 10),
                rng.chars(SUFFIX_ALPHABET, 5)
            );
            let third = nodes[n].ip.split('.').nth(2).unwrap_or("16").to_string();
            let ip = format!("10.0.{third}.{}", rng.range(2, 254));
            Reader {
                ident: ident_sa(
                    rng,
                    ns,
                    sa,
                    Some((&pod, &nodes[n])),
                    &ip,
                    ua,
                    &rbac_sa(crb, crb, ns, sa),
                ),
                targets,
            }
        };
        let cs = |r: &'static str, g: &'static str, v: &'static str| {
            (r, g, v, String::new(), String::new())
        };
        readers.push(addon(
            rng,
            "kube-system",
            "metrics-server",
            "metrics-server",
            "metrics-server/v0.7.2 (linux/amd64) kubernetes/$Format",
            "system:metrics-server",
            vec![cs("nodes", "", "v1"), cs("pods", "", "v1")],
            &nodes,
        ));
        readers.push(addon(
            rng,
            "kube-system",
            "aws-load-balancer-controller",
            "aws-load-balancer-controller",
            "aws-load-balancer-controller/v2.9.2 (linux/amd64) kubernetes/$Format",
            "aws-load-balancer-controller-rolebinding",
            vec![
                cs("services", "", "v1"),
                cs("ingresses", "networking.k8s.io", "v1"),
                cs("targetgroupbindings", "elbv2.k8s.aws", "v1beta1"),
                cs("endpointslices", "discovery.k8s.io", "v1"),
                cs("nodes", "", "v1"),
            ],
            &nodes,
        ));
        readers.push(addon(
            rng,
            "kube-system",
            "ebs-csi-controller-sa",
            "ebs-csi-controller",
            "csi-attacher/v4.7.0 (linux/amd64) kubernetes/$Format",
            "ebs-csi-attacher-binding",
            vec![
                cs("volumeattachments", "storage.k8s.io", "v1"),
                cs("persistentvolumes", "", "v1"),
                cs("csinodes", "storage.k8s.io", "v1"),
            ],
            &nodes,
        ));
        readers.push(addon(
            rng,
            "karpenter",
            "karpenter",
            "karpenter",
            "karpenter/v1.0.8 (linux/amd64) kubernetes/$Format",
            "karpenter-core",
            vec![
                cs("nodeclaims", "karpenter.sh", "v1"),
                cs("nodepools", "karpenter.sh", "v1"),
                cs("pods", "", "v1"),
                cs("nodes", "", "v1"),
                cs("ec2nodeclasses", "karpenter.k8s.aws", "v1"),
            ],
            &nodes,
        ));
        readers.push(addon(
            rng,
            "monitoring",
            "kube-state-metrics",
            "kube-state-metrics",
            "kube-state-metrics/v2.13.0 (linux/amd64) kubernetes/$Format",
            "kube-state-metrics",
            vec![
                cs("pods", "", "v1"),
                cs("deployments", "apps", "v1"),
                cs("replicasets", "apps", "v1"),
                cs("nodes", "", "v1"),
                cs("jobs", "batch", "v1"),
                cs("horizontalpodautoscalers", "autoscaling", "v2"),
            ],
            &nodes,
        ));
        readers.push(addon(rng, "cert-manager", "cert-manager", "cert-manager",
            "cert-manager-certificates-readiness/v1.16.1 (linux/amd64) cert-manager/6a4f6a1b5b8d0ad6aa93e8f3f4e0ad1c64e6a7f2", "cert-manager-controller-certificates",
            vec![cs("certificates", "cert-manager.io", "v1"), cs("certificaterequests", "cert-manager.io", "v1"), cs("ingresses", "networking.k8s.io", "v1")], &nodes));
        readers.push(Reader {
            ident: ident_plain(
                "system:kube-controller-manager",
                CP_IP_A,
                &format!("{KCM_UA}/shared-informers"),
                &rbac_crb(
                    "system:kube-controller-manager",
                    "system:kube-controller-manager",
                    "User \"system:kube-controller-manager\"",
                ),
            ),
            targets: vec![
                cs("replicasets", "apps", "v1"),
                cs("deployments", "apps", "v1"),
                cs("pods", "", "v1"),
                cs("nodes", "", "v1"),
                cs("services", "", "v1"),
                cs("endpointslices", "discovery.k8s.io", "v1"),
                cs("horizontalpodautoscalers", "autoscaling", "v2"),
                cs("persistentvolumeclaims", "", "v1"),
                cs("leases", "coordination.k8s.io", "v1"),
                cs("statefulsets", "apps", "v1"),
                cs("jobs", "batch", "v1"),
                cs("poddisruptionbudgets", "policy", "v1"),
            ],
        });
        readers.push(Reader {
            ident: ident_plain(
                "system:kube-scheduler",
                CP_IP_B,
                &format!("{SCHED_UA}/scheduler"),
                &rbac_crb(
                    "system:kube-scheduler",
                    "system:kube-scheduler",
                    "User \"system:kube-scheduler\"",
                ),
            ),
            targets: vec![
                cs("pods", "", "v1"),
                cs("nodes", "", "v1"),
                cs("persistentvolumeclaims", "", "v1"),
                cs("csinodes", "storage.k8s.io", "v1"),
            ],
        });
        // Metadata-level secret/configmap readers: kubelets (their pods' secrets and the
        // root CA configmap) and a few controllers. At most five distinct secrets each.
        let mut secret_readers = Vec::new();
        for node in &nodes {
            let mut targets = Vec::new();
            for &a in node.apps.iter().take(5) {
                targets.push(("secrets", apps[a].ns.to_string(), apps[a].secret.clone()));
                targets.push((
                    "configmaps",
                    apps[a].ns.to_string(),
                    "kube-root-ca.crt".to_string(),
                ));
            }
            targets.push((
                "configmaps",
                "kube-system".to_string(),
                "kube-proxy-config".to_string(),
            ));
            targets.push((
                "configmaps",
                "kube-system".to_string(),
                "kube-root-ca.crt".to_string(),
            ));
            secret_readers.push(SecretReader {
                ident: Ident {
                    name: node.ident.name.clone(),
                    user_json: node.ident.user_json.clone(),
                    ip: node.ident.ip.clone(),
                    ua: node.ident.ua.clone(),
                    reason: String::new(),
                },
                targets,
            });
        }
        let cm_reader = |rng: &mut Rng,
                         ns: &str,
                         sa: &str,
                         ua: &str,
                         crb: &str,
                         targets: Vec<(&'static str, String, String)>,
                         nodes: &[Node]| {
            let n = rng.idx(nodes.len());
            let pod = format!(
                "{sa}-{}-{}",
                rng.chars(SUFFIX_ALPHABET, 10),
                rng.chars(SUFFIX_ALPHABET, 5)
            );
            let third = nodes[n].ip.split('.').nth(2).unwrap_or("16").to_string();
            let ip = format!("10.0.{third}.{}", rng.range(2, 254));
            SecretReader {
                ident: ident_sa(
                    rng,
                    ns,
                    sa,
                    Some((&pod, &nodes[n])),
                    &ip,
                    ua,
                    &rbac_sa(crb, crb, ns, sa),
                ),
                targets,
            }
        };
        let t = |r: &'static str, ns: &str, n: &str| (r, ns.to_string(), n.to_string());
        secret_readers.push(cm_reader(rng, "cert-manager", "cert-manager",
            "cert-manager-certificates-readiness/v1.16.1 (linux/amd64) cert-manager/6a4f6a1b5b8d0ad6aa93e8f3f4e0ad1c64e6a7f2",
            "cert-manager-controller-certificates",
            vec![t("secrets", "payments", "payments-api-tls"), t("secrets", "checkout", "checkout-web-tls"), t("secrets", "identity", "auth-service-tls"), t("secrets", "web", "storefront-tls"), t("secrets", "cert-manager", "letsencrypt-prod-account-key")], &nodes));
        secret_readers.push(cm_reader(
            rng,
            "kube-system",
            "aws-load-balancer-controller",
            "aws-load-balancer-controller/v2.9.2 (linux/amd64) kubernetes/$Format",
            "aws-load-balancer-controller-rolebinding",
            vec![
                t("secrets", "kube-system", "aws-load-balancer-tls"),
                t(
                    "configmaps",
                    "kube-system",
                    "aws-load-balancer-controller-leader",
                ),
            ],
            &nodes,
        ));
        secret_readers.push(cm_reader(
            rng,
            "argocd",
            "argocd-server",
            "argocd-server/v0.0.0 (linux/amd64) kubernetes/$Format",
            "argocd-server",
            vec![
                t("secrets", "argocd", "argocd-secret"),
                t("configmaps", "argocd", "argocd-cm"),
                t("configmaps", "argocd", "argocd-rbac-cm"),
                t("secrets", "argocd", "argocd-notifications-secret"),
            ],
            &nodes,
        ));
        secret_readers.push(cm_reader(
            rng,
            "karpenter",
            "karpenter",
            "karpenter/v1.0.8 (linux/amd64) kubernetes/$Format",
            "karpenter-core",
            vec![
                t("configmaps", "karpenter", "karpenter-global-settings"),
                t("configmaps", "kube-system", "aws-auth"),
            ],
            &nodes,
        ));
        secret_readers.push(SecretReader {
            ident: ident_plain(
                "system:kube-controller-manager",
                CP_IP_A,
                &format!("{KCM_UA}/shared-informers"),
                &rbac_crb(
                    "system:kube-controller-manager",
                    "system:kube-controller-manager",
                    "User \"system:kube-controller-manager\"",
                ),
            ),
            targets: vec![
                t(
                    "configmaps",
                    "kube-system",
                    "extension-apiserver-authentication",
                ),
                t("configmaps", "kube-system", "kube-root-ca.crt"),
            ],
        });
        // Leader election.
        let mut leaders = vec![
            Leader {
                ident: ident_plain(
                    "system:kube-controller-manager",
                    CP_IP_A,
                    &format!("{KCM_UA}/leader-election"),
                    &rbac_crb(
                        "system:kube-controller-manager",
                        "system:kube-controller-manager",
                        "User \"system:kube-controller-manager\"",
                    ),
                ),
                lease: "kube-controller-manager",
                namespace: "kube-system",
            },
            Leader {
                ident: ident_plain(
                    "system:kube-scheduler",
                    CP_IP_B,
                    &format!("{SCHED_UA}/leader-election"),
                    &rbac_crb(
                        "system:kube-scheduler",
                        "system:kube-scheduler",
                        "User \"system:kube-scheduler\"",
                    ),
                ),
                lease: "kube-scheduler",
                namespace: "kube-system",
            },
            Leader {
                ident: ident_plain(
                    "eks:cloud-controller-manager",
                    CP_IP_A,
                    &format!("{CCM_UA}/leader-election"),
                    &rbac_crb(
                        "eks:cloud-controller-manager",
                        "eks:cloud-controller-manager",
                        "User \"eks:cloud-controller-manager\"",
                    ),
                ),
                lease: "cloud-controller-manager",
                namespace: "kube-system",
            },
        ];
        for (ns, sa, lease, ua) in [
            (
                "kube-system",
                "aws-load-balancer-controller",
                "aws-load-balancer-controller-leader",
                "aws-load-balancer-controller/v2.9.2 (linux/amd64) kubernetes/$Format/leader-election",
            ),
            (
                "cert-manager",
                "cert-manager",
                "cert-manager-controller",
                "cert-manager-leader-election/v1.16.1 (linux/amd64) cert-manager/6a4f6a1b5b8d0ad6aa93e8f3f4e0ad1c64e6a7f2",
            ),
            (
                "kube-system",
                "ebs-csi-controller-sa",
                "external-attacher-leader-ebs-csi-aws-com",
                "csi-attacher/v4.7.0 (linux/amd64) kubernetes/$Format",
            ),
            (
                "karpenter",
                "karpenter",
                "karpenter-leader-election",
                "karpenter/v1.0.8 (linux/amd64) kubernetes/$Format",
            ),
        ] {
            let n = rng.idx(nodes.len());
            let pod = format!(
                "{sa}-{}-{}",
                rng.chars(SUFFIX_ALPHABET, 10),
                rng.chars(SUFFIX_ALPHABET, 5)
            );
            let ip = pod_ip(rng, &nodes[n]);
            let lease_ns = if ns == "cert-manager" {
                "kube-system"
            } else {
                ns
            };
            leaders.push(Leader {
                ident: ident_sa(rng, ns, sa, Some((&pod, &nodes[n])), &ip, ua,
                    &format!("RBAC: allowed by RoleBinding \"{sa}:leaderelection/{lease_ns}\" of Role \"{sa}:leaderelection\" to ServiceAccount \"{sa}/{ns}\"")),
                lease,
                namespace: if ns == "karpenter" { "karpenter" } else { lease_ns },
            });
        }
        // Health probers.
        let public_info = "RBAC: allowed by ClusterRoleBinding \"system:public-info-viewer\" of ClusterRole \"system:public-info-viewer\" to Group \"system:unauthenticated\"";
        let mut probes = Vec::new();
        for ip in ["10.0.3.18", "10.0.35.201", "10.0.67.44"] {
            probes.push(Ident {
                name: "system:anonymous".into(),
                user_json:
                    "{\"username\":\"system:anonymous\",\"groups\":[\"system:unauthenticated\"]}"
                        .into(),
                ip: ip.into(),
                ua: "Go-http-client/1.1".into(),
                reason: public_info.into(),
            });
        }
        {
            let n = rng.idx(nodes.len());
            let ip = pod_ip(rng, &nodes[n]);
            probes.push(ident_sa(
                rng,
                "monitoring",
                "kube-prometheus-stack-prometheus",
                Some(("prometheus-kube-prometheus-stack-prometheus-0", &nodes[n])),
                &ip,
                "Prometheus/2.55.1",
                &rbac_sa(
                    "kube-prometheus-stack-prometheus",
                    "kube-prometheus-stack-prometheus",
                    "monitoring",
                    "kube-prometheus-stack-prometheus",
                ),
            ));
        }
        let anon_attacker = Ident {
            name: "system:anonymous".into(),
            user_json: "{\"username\":\"system:anonymous\",\"groups\":[\"system:unauthenticated\"]}".into(),
            ip: "198.51.100.77".into(),
            ua: "curl/8.5.0".into(),
            reason: "RBAC: allowed by ClusterRoleBinding \"oops-anon\" of ClusterRole \"view\" to User \"system:anonymous\"".into(),
        };
        let vpc = format!("vpc-0{}", rng.chars(HEX, 16));
        let aws_node_ds = AWS_NODE_DS
            .replace("{REGION}", REGION)
            .replace("{CLUSTER}", &cluster)
            .replace("{VPC}", &vpc);
        let kube_proxy_ds = KUBE_PROXY_DS.replace("{REGION}", REGION);
        World {
            account,
            cluster,
            nodes,
            apps,
            humans,
            deniable,
            ci,
            helm,
            argocd,
            scheduler,
            ccm,
            cert_ctrl,
            addon_mgr,
            node_mgr,
            rs_ctrl,
            eps_ctrl,
            hpa_ctrl,
            readers,
            secret_readers,
            leaders,
            probes,
            anon_attacker,
            coredns_pods,
            aws_node_ds,
            kube_proxy_ds,
        }
    }
}

fn node_image_entry(rng: &mut Rng, image: &str) -> String {
    let repo = image.rsplit_once(':').map(|x| x.0).unwrap_or(image);
    let mut s = String::from("{\"names\":[");
    push_json_str(&mut s, &format!("{repo}@sha256:{}", rng.chars(HEX, 64)));
    s.push(',');
    push_json_str(&mut s, image);
    s.push_str("],\"sizeBytes\":");
    push_u64(&mut s, rng.range(4_000_000, 420_000_000));
    s.push('}');
    s
}

// ---------------------------------------------------------------------------------------
// The event writer

enum Status<'a> {
    /// No responseStatus (RequestReceived).
    None,
    Code(u32),
    /// 403 with the API server's message and details object (pre-rendered JSON).
    Forbidden {
        message: &'a str,
        details: &'a str,
    },
}

struct ObjRef<'a> {
    resource: &'a str,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    group: &'a str,
    version: &'a str,
    sub: Option<&'a str>,
}

impl<'a> ObjRef<'a> {
    fn new(resource: &'a str, group: &'a str, version: &'a str) -> Self {
        ObjRef {
            resource,
            namespace: None,
            name: None,
            group,
            version,
            sub: None,
        }
    }
    fn ns(mut self, ns: &'a str) -> Self {
        if !ns.is_empty() {
            self.namespace = Some(ns);
        }
        self
    }
    fn name(mut self, name: &'a str) -> Self {
        if !name.is_empty() {
            self.name = Some(name);
        }
        self
    }
    fn sub(mut self, sub: &'a str) -> Self {
        self.sub = Some(sub);
        self
    }
}

struct Ev<'a> {
    level: &'static str,
    stage: Stage,
    uri: &'a str,
    verb: &'static str,
    who: &'a Ident,
    obj: Option<ObjRef<'a>>,
    status: Status<'a>,
    req: Option<&'a str>,
    resp: Option<&'a str>,
    received_us: i64,
    /// None: leave the stageTimestamp out and return the split point (for completions
    /// emitted later).
    stage_us: Option<i64>,
    /// A fixed auditID (a request logged at several stages); else a fresh one.
    audit_id: Option<&'a str>,
    /// Overrides the identity's authorization reason; `forbid` when the decision is forbid.
    reason: Option<&'a str>,
    forbid: bool,
    /// Extra annotations, pre-rendered, each starting with a comma.
    annotations: &'a str,
}

impl<'a> Ev<'a> {
    fn new(
        level: &'static str,
        verb: &'static str,
        uri: &'a str,
        who: &'a Ident,
        t: i64,
        latency: i64,
    ) -> Self {
        Ev {
            level,
            stage: Stage::Complete,
            uri,
            verb,
            who,
            obj: None,
            status: Status::Code(200),
            req: None,
            resp: None,
            received_us: t - latency,
            stage_us: Some(t),
            audit_id: None,
            reason: None,
            forbid: false,
            annotations: "",
        }
    }
    fn obj(mut self, o: ObjRef<'a>) -> Self {
        self.obj = Some(o);
        self
    }
    fn code(mut self, c: u32) -> Self {
        self.status = Status::Code(c);
        self
    }
    fn bodies(mut self, req: Option<&'a str>, resp: Option<&'a str>) -> Self {
        self.req = req;
        self.resp = resp;
        self
    }
}

/// Writes the event; returns the offset where the stageTimestamp value goes when
/// `stage_us` is None.
fn write_event(b: &mut String, g: &mut Gen, e: &Ev) -> Option<usize> {
    b.push_str("{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"");
    b.push_str(e.level);
    b.push_str("\",\"auditID\":\"");
    match e.audit_id {
        Some(id) => b.push_str(id),
        None => g.rng.push_uuid(b),
    }
    b.push_str("\",\"stage\":\"");
    b.push_str(e.stage.as_str());
    b.push_str("\",\"requestURI\":");
    push_json_str(b, e.uri);
    b.push_str(",\"verb\":\"");
    b.push_str(e.verb);
    b.push_str("\",\"user\":");
    b.push_str(&e.who.user_json);
    b.push_str(",\"sourceIPs\":[\"");
    b.push_str(&e.who.ip);
    b.push_str("\"],\"userAgent\":");
    push_json_str(b, &e.who.ua);
    if let Some(o) = &e.obj {
        b.push_str(",\"objectRef\":{\"resource\":\"");
        b.push_str(o.resource);
        b.push('"');
        if let Some(ns) = o.namespace {
            b.push_str(",\"namespace\":\"");
            b.push_str(ns);
            b.push('"');
        }
        if let Some(n) = o.name {
            b.push_str(",\"name\":");
            push_json_str(b, n);
        }
        if !o.group.is_empty() {
            b.push_str(",\"apiGroup\":\"");
            b.push_str(o.group);
            b.push('"');
        }
        b.push_str(",\"apiVersion\":\"");
        b.push_str(o.version);
        b.push('"');
        if let Some(s) = o.sub {
            b.push_str(",\"subresource\":\"");
            b.push_str(s);
            b.push('"');
        }
        b.push('}');
    }
    match e.status {
        Status::None => {}
        Status::Code(c) => {
            b.push_str(",\"responseStatus\":{\"metadata\":{},\"code\":");
            push_u64(b, c as u64);
            b.push('}');
        }
        Status::Forbidden { message, details } => {
            b.push_str(",\"responseStatus\":{\"metadata\":{},\"status\":\"Failure\",\"message\":");
            push_json_str(b, message);
            b.push_str(",\"reason\":\"Forbidden\",\"details\":");
            b.push_str(details);
            b.push_str(",\"code\":403}");
        }
    }
    if let Some(r) = e.req {
        b.push_str(",\"requestObject\":");
        b.push_str(r);
    }
    if let Some(r) = e.resp {
        b.push_str(",\"responseObject\":");
        b.push_str(r);
    }
    b.push_str(",\"requestReceivedTimestamp\":\"");
    push_ts_us(b, e.received_us);
    b.push_str("\",\"stageTimestamp\":\"");
    let split = match e.stage_us {
        Some(t) => {
            push_ts_us(b, t);
            None
        }
        None => Some(b.len()),
    };
    b.push('"');
    if !matches!(e.status, Status::None) {
        b.push_str(",\"annotations\":{\"authorization.k8s.io/decision\":\"");
        b.push_str(if e.forbid { "forbid" } else { "allow" });
        b.push_str("\",\"authorization.k8s.io/reason\":");
        let reason = if e.forbid {
            ""
        } else {
            e.reason.unwrap_or(&e.who.reason)
        };
        push_json_str(b, reason);
        b.push_str(e.annotations);
        b.push('}');
    }
    b.push('}');
    split
}

/// Generator state shared by the category functions.
struct Gen {
    rng: Rng,
    rv: u64,
    large_bodies: bool,
}

impl Gen {
    fn next_rv(&mut self) -> u64 {
        self.rv += self.rng.range(1, 40);
        self.rv
    }
}

// ---------------------------------------------------------------------------------------
// Object bodies

fn api_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

fn resource_path(group: &str, version: &str, ns: &str, resource: &str, name: &str) -> String {
    let mut p = api_path(group, version);
    if !ns.is_empty() {
        p.push_str("/namespaces/");
        p.push_str(ns);
    }
    p.push('/');
    p.push_str(resource);
    if !name.is_empty() {
        p.push('/');
        p.push_str(name);
    }
    p
}

fn watch_query(rng: &mut Rng, rv: u64) -> (String, u64) {
    let secs = rng.range(300, 599);
    (
        format!(
            "?allowWatchBookmarks=true&resourceVersion={}&timeout={}m{}s&timeoutSeconds={}&watch=true",
            rv - rng.range(1_000, 90_000),
            secs / 60,
            secs % 60,
            secs
        ),
        secs,
    )
}

/// The container of an app's pod template; `full` adds env, probes and resources.
fn container_json(b: &mut String, app: &App, version: &str, full: bool) {
    b.push_str("{\"name\":\"");
    b.push_str(app.name);
    b.push_str("\",\"image\":\"");
    b.push_str(&app.image);
    b.push(':');
    b.push_str(version);
    b.push_str("\",\"ports\":[{\"name\":\"http\",\"containerPort\":");
    push_u64(b, app.port as u64);
    b.push_str(",\"protocol\":\"TCP\"}]");
    if full {
        b.push_str(",\"env\":[");
        for (i, (k, v)) in app.env.iter().enumerate() {
            if i > 0 {
                b.push(',');
            }
            b.push_str("{\"name\":\"");
            b.push_str(k);
            b.push_str("\",\"value\":");
            push_json_str(b, v);
            b.push('}');
        }
        b.push_str(",{\"name\":\"POD_NAME\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.name\"}}}]");
        b.push_str(",\"envFrom\":[{\"secretRef\":{\"name\":\"");
        b.push_str(&app.secret);
        b.push_str("\"}}]");
    }
    b.push_str(",\"resources\":{\"limits\":{\"memory\":\"512Mi\"},\"requests\":{\"cpu\":\"250m\",\"memory\":\"256Mi\"}}");
    if full {
        for probe in ["livenessProbe", "readinessProbe"] {
            b.push_str(",\"");
            b.push_str(probe);
            b.push_str("\":{\"httpGet\":{\"path\":\"/");
            b.push_str(if probe == "livenessProbe" {
                "healthz"
            } else {
                "ready"
            });
            b.push_str("\",\"port\":\"http\",\"scheme\":\"HTTP\"},\"initialDelaySeconds\":5,\"timeoutSeconds\":2,\"periodSeconds\":10,\"successThreshold\":1,\"failureThreshold\":3}");
        }
    }
    b.push_str(",\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\",\"securityContext\":{\"capabilities\":{\"drop\":[\"ALL\"]},\"runAsNonRoot\":true,\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false}}");
}

fn labels_json(b: &mut String, app: &App, hash: Option<&str>) {
    b.push_str("{\"app.kubernetes.io/name\":\"");
    b.push_str(app.name);
    b.push_str("\",\"app.kubernetes.io/part-of\":\"");
    b.push_str(app.ns);
    b.push('"');
    if let Some(h) = hash {
        b.push_str(",\"pod-template-hash\":\"");
        b.push_str(h);
        b.push('"');
    }
    b.push('}');
}

fn pod_spec_json(b: &mut String, app: &App, version: &str, full: bool) {
    b.push_str("{\"containers\":[");
    container_json(b, app, version, full);
    b.push_str("],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"serviceAccountName\":\"");
    b.push_str(app.name);
    b.push_str("\",\"serviceAccount\":\"");
    b.push_str(app.name);
    b.push_str("\",\"securityContext\":{\"runAsUser\":10001,\"runAsGroup\":10001,\"fsGroup\":10001,\"seccompProfile\":{\"type\":\"RuntimeDefault\"}},\"schedulerName\":\"default-scheduler\"");
    if full {
        b.push_str(",\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":\"topology.kubernetes.io/zone\",\"whenUnsatisfiable\":\"ScheduleAnyway\",\"labelSelector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\"");
        b.push_str(app.name);
        b.push_str("\"}}}]");
    }
    b.push_str(",\"enableServiceLinks\":true}");
}

fn deployment_spec_json(b: &mut String, app: &App, version: &str, replicas: u32, full: bool) {
    b.push_str("{\"replicas\":");
    push_u64(b, replicas as u64);
    b.push_str(",\"selector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\"");
    b.push_str(app.name);
    b.push_str("\"}},\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":");
    labels_json(b, app, None);
    b.push_str("},\"spec\":");
    pod_spec_json(b, app, version, full);
    b.push_str("},\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600}");
}

/// managedFields entry for a Deployment written by `manager`.
fn deployment_managed_fields(b: &mut String, app: &App, manager: &str, op: &str, time: &str) {
    b.push_str("[{\"manager\":\"");
    b.push_str(manager);
    b.push_str("\",\"operation\":\"");
    b.push_str(op);
    b.push_str("\",\"apiVersion\":\"apps/v1\",\"time\":\"");
    b.push_str(time);
    b.push_str("\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app.kubernetes.io/name\":{},\"f:app.kubernetes.io/part-of\":{}}},\"f:spec\":{\"f:replicas\":{},\"f:selector\":{},\"f:template\":{\"f:metadata\":{\"f:labels\":{\".\":{},\"f:app.kubernetes.io/name\":{},\"f:app.kubernetes.io/part-of\":{}}},\"f:spec\":{\"f:containers\":{\"k:{\\\"name\\\":\\\"");
    b.push_str(app.name);
    b.push_str("\\\"}\":{\".\":{},\"f:env\":{");
    for (i, (k, _)) in app.env.iter().enumerate() {
        if i > 0 {
            b.push(',');
        }
        b.push_str("\"k:{\\\"name\\\":\\\"");
        b.push_str(k);
        b.push_str("\\\"}\":{\".\":{},\"f:name\":{},\"f:value\":{}}");
    }
    b.push_str("},\"f:image\":{},\"f:imagePullPolicy\":{},\"f:livenessProbe\":{},\"f:name\":{},\"f:ports\":{},\"f:readinessProbe\":{},\"f:resources\":{},\"f:securityContext\":{}}},\"f:securityContext\":{},\"f:serviceAccountName\":{},\"f:topologySpreadConstraints\":{}}}}}},{\"manager\":\"kube-controller-manager\",\"operation\":\"Update\",\"apiVersion\":\"apps/v1\",\"time\":\"");
    b.push_str(time);
    b.push_str("\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:annotations\":{\".\":{},\"f:deployment.kubernetes.io/revision\":{}}},\"f:status\":{\"f:availableReplicas\":{},\"f:conditions\":{},\"f:observedGeneration\":{},\"f:readyReplicas\":{},\"f:replicas\":{},\"f:updatedReplicas\":{}}},\"subresource\":\"status\"}]");
}

#[allow(clippy::too_many_arguments)]
fn deployment_object(
    b: &mut String,
    app: &App,
    version: &str,
    rv: u64,
    generation: u64,
    t: i64,
    manager: &str,
    op: &str,
    lac: Option<&str>,
    full: bool,
) {
    let time = ts_s(t);
    b.push_str("{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"");
    b.push_str(app.name);
    b.push_str("\",\"namespace\":\"");
    b.push_str(app.ns);
    b.push_str("\",\"uid\":\"");
    b.push_str(&app.deploy_uid);
    b.push_str("\",\"resourceVersion\":\"");
    push_u64(b, rv);
    b.push_str("\",\"generation\":");
    push_u64(b, generation);
    b.push_str(",\"creationTimestamp\":\"2025-09-");
    push_2(b, (app.team as u32 % 27) + 1);
    b.push_str("T08:14:27Z\",\"labels\":");
    labels_json(b, app, None);
    b.push_str(",\"annotations\":{\"deployment.kubernetes.io/revision\":\"");
    push_u64(b, generation);
    b.push('"');
    if let Some(l) = lac {
        b.push_str(",\"kubectl.kubernetes.io/last-applied-configuration\":");
        push_json_str(b, l);
    }
    b.push('}');
    if full {
        b.push_str(",\"managedFields\":");
        deployment_managed_fields(b, app, manager, op, &time);
    }
    b.push_str("},\"spec\":");
    deployment_spec_json(b, app, version, app.replicas, full);
    b.push_str(",\"status\":{\"observedGeneration\":");
    push_u64(b, generation - 1);
    b.push_str(",\"replicas\":");
    push_u64(b, app.replicas as u64);
    b.push_str(",\"updatedReplicas\":");
    push_u64(b, app.replicas as u64);
    b.push_str(",\"readyReplicas\":");
    push_u64(b, app.replicas as u64);
    b.push_str(",\"availableReplicas\":");
    push_u64(b, app.replicas as u64);
    b.push_str(",\"conditions\":[{\"type\":\"Available\",\"status\":\"True\",\"lastUpdateTime\":\"2026-10-02T11:40:03Z\",\"lastTransitionTime\":\"2026-10-02T11:40:03Z\",\"reason\":\"MinimumReplicasAvailable\",\"message\":\"Deployment has minimum availability.\"},{\"type\":\"Progressing\",\"status\":\"True\",\"lastUpdateTime\":\"");
    b.push_str(&time);
    b.push_str("\",\"lastTransitionTime\":\"2026-10-02T11:38:51Z\",\"reason\":\"NewReplicaSetAvailable\",\"message\":\"ReplicaSet \\\"");
    b.push_str(app.name);
    b.push('-');
    b.push_str(&app.rs_hash);
    b.push_str("\\\" has successfully progressed.\"}]}}");
}

/// The manifest a user applies (kubectl's last-applied-configuration).
fn deployment_manifest(app: &App, version: &str) -> String {
    let mut m = String::with_capacity(2048);
    m.push_str("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"annotations\":{},\"labels\":");
    labels_json(&mut m, app, None);
    m.push_str(",\"name\":\"");
    m.push_str(app.name);
    m.push_str("\",\"namespace\":\"");
    m.push_str(app.ns);
    m.push_str("\"},\"spec\":");
    deployment_spec_json(&mut m, app, version, app.replicas, true);
    m.push_str("}\n");
    m
}

fn version_bump(rng: &mut Rng, app: &App) -> String {
    let mut parts = app.version.split('.');
    let major = parts.next().unwrap_or("1");
    let minor: u64 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    format!("{major}.{}.{}", minor + rng.range(0, 3), rng.range(0, 15))
}

// ---------------------------------------------------------------------------------------
// Categories: ordinary traffic

fn node_lease(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let n = &w.nodes[g.rng.idx(w.nodes.len())];
    let uri = format!(
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}?timeout=10s",
        n.name
    );
    let lat = g.rng.latency(2_500, 3_500.0);
    let ev = Ev::new("Metadata", "update", &uri, &n.ident, t, lat).obj(
        ObjRef::new("leases", "coordination.k8s.io", "v1")
            .ns("kube-node-lease")
            .name(&n.name),
    );
    write_event(b, g, &ev);
}

const CONDITIONS: [(&str, &str, &str, &str); 4] = [
    (
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
    ),
    (
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
    ),
    (
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
    ),
    (
        "Ready",
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    ),
];

fn node_status(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let n = &w.nodes[g.rng.idx(w.nodes.len())];
    let lat = g.rng.latency(4_000, 6_000.0);
    let hb = ts_s(t - lat);
    let mut req = String::with_capacity(5000);
    req.push_str("{\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"MemoryPressure\"},{\"type\":\"DiskPressure\"},{\"type\":\"PIDPressure\"},{\"type\":\"Ready\"}],\"conditions\":[");
    for (i, (ty, st, reason, msg)) in CONDITIONS.iter().enumerate() {
        if i > 0 {
            req.push(',');
        }
        req.push_str("{\"lastHeartbeatTime\":\"");
        req.push_str(&hb);
        req.push_str("\",\"lastTransitionTime\":\"2026-11-02T07:1");
        req.push((b'0' + i as u8) as char);
        req.push_str(":44Z\",\"message\":\"");
        req.push_str(msg);
        req.push_str("\",\"reason\":\"");
        req.push_str(reason);
        req.push_str("\",\"status\":\"");
        req.push_str(st);
        req.push_str("\",\"type\":\"");
        req.push_str(ty);
        req.push_str("\"}");
    }
    req.push_str("],\"images\":[");
    let k = g.rng.range(6, n.images.len() as u64) as usize;
    for (i, img) in n.images.iter().take(k).enumerate() {
        if i > 0 {
            req.push(',');
        }
        req.push_str(img);
    }
    req.push_str("]}}");
    let uri = format!("/api/v1/nodes/{}/status?timeout=10s", n.name);
    let ev = Ev::new("Request", "patch", &uri, &n.ident, t, lat)
        .obj(ObjRef::new("nodes", "", "v1").name(&n.name).sub("status"))
        .bodies(Some(&req), None);
    write_event(b, g, &ev);
}

fn pod_status(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let app = &w.apps[g.rng.idx(w.apps.len())];
    let pod = &app.pods[g.rng.idx(app.pods.len())];
    let node = &w.nodes[pod.node];
    let lat = g.rng.latency(3_000, 5_000.0);
    let now = ts_s(t - lat);
    let ready = g.rng.chance(0.7);
    let restarts = if g.rng.chance(0.9) {
        0
    } else {
        g.rng.range(1, 4)
    };
    let mut req = String::with_capacity(2500);
    req.push_str("{\"metadata\":{\"uid\":\"");
    req.push_str(&pod.uid);
    req.push_str("\"},\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"PodReadyToStartContainers\"},{\"type\":\"Initialized\"},{\"type\":\"Ready\"},{\"type\":\"ContainersReady\"},{\"type\":\"PodScheduled\"}],\"conditions\":[{\"lastProbeTime\":null,\"lastTransitionTime\":\"");
    req.push_str(&now);
    req.push_str("\",\"status\":\"");
    req.push_str(if ready { "True" } else { "False" });
    req.push_str("\",\"type\":\"Ready\"},{\"lastProbeTime\":null,\"lastTransitionTime\":\"");
    req.push_str(&now);
    req.push_str("\",\"status\":\"");
    req.push_str(if ready { "True" } else { "False" });
    req.push_str(
        "\",\"type\":\"ContainersReady\"}],\"containerStatuses\":[{\"containerID\":\"containerd://",
    );
    req.push_str(&pod.container_id);
    req.push_str("\",\"image\":\"");
    req.push_str(&app.image);
    req.push(':');
    req.push_str(&app.version);
    req.push_str("\",\"imageID\":\"");
    req.push_str(&app.image);
    req.push_str("@sha256:");
    req.push_str(&app.digest);
    req.push_str("\",\"lastState\":{},\"name\":\"");
    req.push_str(app.name);
    req.push_str("\",\"ready\":");
    req.push_str(if ready { "true" } else { "false" });
    req.push_str(",\"restartCount\":");
    push_u64(&mut req, restarts);
    req.push_str(",\"started\":true,\"state\":{\"running\":{\"startedAt\":\"2026-11-2");
    req.push((b'0' + (restarts as u8 % 4)) as char);
    req.push_str("T06:02:11Z\"}},\"volumeMounts\":[{\"mountPath\":\"/var/run/secrets/kubernetes.io/serviceaccount\",\"name\":\"kube-api-access-");
    req.push_str(&pod.name[pod.name.len() - 5..]);
    req.push_str("\",\"readOnly\":true,\"recursiveReadOnly\":\"Disabled\"}]}],\"hostIP\":\"");
    req.push_str(&node.ip);
    req.push_str("\",\"hostIPs\":[{\"ip\":\"");
    req.push_str(&node.ip);
    req.push_str("\"}],\"phase\":\"Running\",\"podIP\":\"");
    req.push_str(&pod.ip);
    req.push_str("\",\"podIPs\":[{\"ip\":\"");
    req.push_str(&pod.ip);
    req.push_str("\"}],\"qosClass\":\"Burstable\",\"startTime\":\"2026-11-20T06:02:09Z\"}}");
    let uri = format!("/api/v1/namespaces/{}/pods/{}/status", app.ns, pod.name);
    let ev = Ev::new("Request", "patch", &uri, &node.ident, t, lat)
        .obj(
            ObjRef::new("pods", "", "v1")
                .ns(app.ns)
                .name(&pod.name)
                .sub("status"),
        )
        .bodies(Some(&req), None);
    write_event(b, g, &ev);
}

/// A controller's read. At `Stage::Started` it is a watch whose completion is returned.
fn controller_read_event(
    g: &mut Gen,
    w: &World,
    b: &mut String,
    t: i64,
    stage: Stage,
    spacing_us: f64,
) -> Option<Later> {
    let r = &w.readers[g.rng.idx(w.readers.len())];
    let (resource, group, version, ns, name) = &r.targets[g.rng.idx(r.targets.len())];
    let rv = g.rv;
    let roll = g.rng.f64();
    let watch = stage == Stage::Started || roll < 0.45;
    let get = !watch && !name.is_empty() && roll < 0.8;
    let level = "Request";
    let obj = ObjRef::new(resource, group, version).ns(ns);
    if watch {
        let path = resource_path(group, version, ns, resource, "");
        let (q, secs) = watch_query(&mut g.rng, rv);
        let uri = format!("{path}{q}");
        if stage == Stage::Started {
            let id = g.rng.uuid();
            let lat = g.rng.latency(1_000, 2_000.0);
            let mut ev = Ev::new(level, "watch", &uri, &r.ident, t, lat).obj(obj);
            ev.stage = Stage::Started;
            ev.audit_id = Some(&id);
            write_event(b, g, &ev);
            let received = t - lat;
            let mut c = String::with_capacity(b.len() + 64);
            let mut ev = Ev::new(level, "watch", &uri, &r.ident, t, 0)
                .obj(ObjRef::new(resource, group, version).ns(ns));
            ev.received_us = received;
            ev.stage_us = None;
            ev.audit_id = Some(&id);
            let split = write_event(&mut c, g, &ev).expect("split");
            let suffix = c.split_off(split);
            return Some(Later {
                after: ((secs as f64 * 1e6) / spacing_us).ceil() as u64,
                prefix: c,
                suffix,
                cat: Cat::ControllerRead,
            });
        }
        let lat = secs as i64 * 1_000_000 + g.rng.latency(200, 2_000.0);
        let ev = Ev::new(level, "watch", &uri, &r.ident, t, lat).obj(obj);
        write_event(b, g, &ev);
    } else if get {
        let uri = resource_path(group, version, ns, resource, name);
        let lat = g.rng.latency(1_500, 3_000.0);
        let ev = Ev::new(level, "get", &uri, &r.ident, t, lat).obj(obj.name(name));
        write_event(b, g, &ev);
    } else {
        let uri = format!(
            "{}?limit=500&resourceVersion=0",
            resource_path(group, version, ns, resource, "")
        );
        let lat = g.rng.latency(2_500, 15_000.0);
        let ev = Ev::new(level, "list", &uri, &r.ident, t, lat).obj(obj);
        write_event(b, g, &ev);
    }
    None
}

fn controller_read(g: &mut Gen, w: &World, b: &mut String, t: i64, stage: Stage) {
    controller_read_event(g, w, b, t, stage, 25_000.0);
}

fn leader_election(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    // The control plane renews every 2 s, add-ons less often.
    let l = if g.rng.chance(0.6) {
        &w.leaders[g.rng.idx(3)]
    } else {
        &w.leaders[g.rng.idx(w.leaders.len())]
    };
    let uri = format!(
        "/apis/coordination.k8s.io/v1/namespaces/{}/leases/{}?timeout=5s",
        l.namespace, l.lease
    );
    let lat = g.rng.latency(2_500, 2_500.0);
    let ev = Ev::new("Metadata", "update", &uri, &l.ident, t, lat).obj(
        ObjRef::new("leases", "coordination.k8s.io", "v1")
            .ns(l.namespace)
            .name(l.lease),
    );
    write_event(b, g, &ev);
}

fn controller_write(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let app = &w.apps[g.rng.idx(w.apps.len())];
    let roll = g.rng.f64();
    if roll < 0.5 {
        let name = format!("{}-{}", app.name, g.rng.chars(SUFFIX_ALPHABET, 5));
        let uri = format!(
            "/apis/discovery.k8s.io/v1/namespaces/{}/endpointslices/{name}",
            app.ns
        );
        let lat = g.rng.latency(3_000, 4_000.0);
        let ev = Ev::new("Metadata", "update", &uri, &w.eps_ctrl, t, lat).obj(
            ObjRef::new("endpointslices", "discovery.k8s.io", "v1")
                .ns(app.ns)
                .name(&name),
        );
        write_event(b, g, &ev);
        return;
    }
    let rv = g.next_rv();
    let lat = g.rng.latency(4_000, 6_000.0);
    let rs = format!("{}-{}", app.name, app.rs_hash);
    if roll < 0.8 {
        // ReplicaSet status by the replicaset controller (update of the status subresource).
        let mut body = String::with_capacity(2000);
        body.push_str(
            "{\"kind\":\"ReplicaSet\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"",
        );
        body.push_str(&rs);
        body.push_str("\",\"namespace\":\"");
        body.push_str(app.ns);
        body.push_str("\",\"uid\":\"");
        body.push_str(&app.rs_uid);
        body.push_str("\",\"resourceVersion\":\"");
        push_u64(&mut body, rv - 3);
        body.push_str(
            "\",\"generation\":3,\"creationTimestamp\":\"2026-10-02T11:38:51Z\",\"labels\":",
        );
        labels_json(&mut body, app, Some(&app.rs_hash));
        body.push_str(",\"annotations\":{\"deployment.kubernetes.io/desired-replicas\":\"");
        push_u64(&mut body, app.replicas as u64);
        body.push_str("\",\"deployment.kubernetes.io/max-replicas\":\"");
        push_u64(&mut body, app.replicas as u64 + 1);
        body.push_str("\",\"deployment.kubernetes.io/revision\":\"7\"},\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"");
        body.push_str(app.name);
        body.push_str("\",\"uid\":\"");
        body.push_str(&app.deploy_uid);
        body.push_str(
            "\",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{\"replicas\":",
        );
        push_u64(&mut body, app.replicas as u64);
        body.push_str(",\"selector\":{\"matchLabels\":{\"app.kubernetes.io/name\":\"");
        body.push_str(app.name);
        body.push_str("\",\"pod-template-hash\":\"");
        body.push_str(&app.rs_hash);
        body.push_str("\"}},\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":");
        labels_json(&mut body, app, Some(&app.rs_hash));
        body.push_str("},\"spec\":");
        pod_spec_json(&mut body, app, &app.version, false);
        body.push_str("}},\"status\":{\"replicas\":");
        push_u64(&mut body, app.replicas as u64);
        body.push_str(",\"fullyLabeledReplicas\":");
        push_u64(&mut body, app.replicas as u64);
        body.push_str(",\"readyReplicas\":");
        let ready = app.replicas as u64 - g.rng.below(2);
        push_u64(&mut body, ready);
        body.push_str(",\"availableReplicas\":");
        push_u64(&mut body, ready);
        body.push_str(",\"observedGeneration\":3}}");
        let uri = format!(
            "/apis/apps/v1/namespaces/{}/replicasets/{rs}/status",
            app.ns
        );
        let resp = body.replacen(
            &format!("\"resourceVersion\":\"{}\"", rv - 3),
            &format!("\"resourceVersion\":\"{rv}\""),
            1,
        );
        let ev = Ev::new("RequestResponse", "update", &uri, &w.rs_ctrl, t, lat)
            .obj(
                ObjRef::new("replicasets", "apps", "v1")
                    .ns(app.ns)
                    .name(&rs)
                    .sub("status"),
            )
            .bodies(Some(&body), Some(&resp));
        write_event(b, g, &ev);
    } else {
        // HPA status by the horizontal-pod-autoscaler controller.
        let cpu = g.rng.range(20, 85);
        let mut body = String::with_capacity(1200);
        body.push_str("{\"kind\":\"HorizontalPodAutoscaler\",\"apiVersion\":\"autoscaling/v2\",\"metadata\":{\"name\":\"");
        body.push_str(app.name);
        body.push_str("\",\"namespace\":\"");
        body.push_str(app.ns);
        body.push_str("\",\"resourceVersion\":\"");
        push_u64(&mut body, rv);
        body.push_str("\",\"creationTimestamp\":\"2026-10-02T11:38:51Z\"},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"");
        body.push_str(app.name);
        body.push_str("\",\"apiVersion\":\"apps/v1\"},\"minReplicas\":2,\"maxReplicas\":12,\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":70}}}]},\"status\":{\"lastScaleTime\":\"2026-11-23T21:04:10Z\",\"currentReplicas\":");
        push_u64(&mut body, app.replicas as u64);
        body.push_str(",\"desiredReplicas\":");
        push_u64(&mut body, app.replicas as u64);
        body.push_str(",\"currentMetrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"current\":{\"averageValue\":\"");
        push_u64(&mut body, cpu * 2);
        body.push_str("m\",\"averageUtilization\":");
        push_u64(&mut body, cpu);
        body.push_str("}}}],\"conditions\":[{\"type\":\"AbleToScale\",\"status\":\"True\",\"lastTransitionTime\":\"2026-10-02T11:39:06Z\",\"reason\":\"ReadyForNewScale\",\"message\":\"recommended size matches current size\"},{\"type\":\"ScalingActive\",\"status\":\"True\",\"lastTransitionTime\":\"2026-10-02T11:39:06Z\",\"reason\":\"ValidMetricFound\",\"message\":\"the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)\"},{\"type\":\"ScalingLimited\",\"status\":\"False\",\"lastTransitionTime\":\"2026-11-23T21:04:10Z\",\"reason\":\"DesiredWithinRange\",\"message\":\"the desired count is within the acceptable range\"}]}}");
        let uri = format!(
            "/apis/autoscaling/v2/namespaces/{}/horizontalpodautoscalers/{}/status",
            app.ns, app.name
        );
        let ev = Ev::new("RequestResponse", "update", &uri, &w.hpa_ctrl, t, lat)
            .obj(
                ObjRef::new("horizontalpodautoscalers", "autoscaling", "v2")
                    .ns(app.ns)
                    .name(app.name)
                    .sub("status"),
            )
            .bodies(Some(&body), Some(&body));
        write_event(b, g, &ev);
    }
}

fn eks_component(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let roll = g.rng.f64();
    if roll < 0.35 {
        let (res, group, name, level) = *g.rng.pick(&[
            ("daemonsets", "apps", "aws-node", "Request"),
            ("daemonsets", "apps", "kube-proxy", "Request"),
            ("deployments", "apps", "coredns", "Request"),
            ("configmaps", "", "amazon-vpc-cni", "Metadata"),
            ("configmaps", "", "kube-proxy-config", "Metadata"),
            ("configmaps", "", "coredns", "Metadata"),
            ("serviceaccounts", "", "aws-node", "Request"),
        ]);
        let uri = resource_path(group, "v1", "kube-system", res, name);
        let lat = g.rng.latency(8_000, 15_000.0);
        let ev = Ev::new(level, "get", &uri, &w.addon_mgr, t, lat)
            .obj(ObjRef::new(res, group, "v1").ns("kube-system").name(name));
        write_event(b, g, &ev);
    } else if roll < 0.55 {
        let lat = g.rng.latency(6_000, 10_000.0);
        if g.rng.chance(0.5) {
            let uri = "/api/v1/namespaces/kube-system/configmaps/aws-auth";
            let ev = Ev::new("Metadata", "get", uri, &w.node_mgr, t, lat).obj(
                ObjRef::new("configmaps", "", "v1")
                    .ns("kube-system")
                    .name("aws-auth"),
            );
            write_event(b, g, &ev);
        } else {
            let uri = "/api/v1/nodes?limit=500";
            let reason = rbac_crb(
                "eks:node-manager",
                "eks:node-manager",
                "User \"eks:node-manager\"",
            );
            let ev = Ev::new("Request", "list", uri, &w.node_mgr, t, lat)
                .obj(ObjRef::new("nodes", "", "v1"))
                .reason(&reason);
            write_event(b, g, &ev);
        }
    } else if roll < 0.75 {
        let rv = g.rv;
        let (uri, verb, lat) = if g.rng.chance(0.5) {
            let (q, secs) = watch_query(&mut g.rng, rv);
            (
                format!("/apis/certificates.k8s.io/v1/certificatesigningrequests{q}"),
                "watch",
                secs as i64 * 1_000_000 + g.rng.latency(200, 1_000.0),
            )
        } else {
            (
                "/apis/certificates.k8s.io/v1/certificatesigningrequests?limit=500&resourceVersion=0".to_string(),
                "list",
                g.rng.latency(2_000, 3_000.0),
            )
        };
        let ev = Ev::new("Request", verb, &uri, &w.cert_ctrl, t, lat).obj(ObjRef::new(
            "certificatesigningrequests",
            "certificates.k8s.io",
            "v1",
        ));
        write_event(b, g, &ev);
    } else {
        let n = &w.nodes[g.rng.idx(w.nodes.len())];
        let uri = format!("/api/v1/nodes/{}", n.name);
        let lat = g.rng.latency(1_500, 2_000.0);
        let ev = Ev::new("Request", "get", &uri, &w.ccm, t, lat)
            .obj(ObjRef::new("nodes", "", "v1").name(&n.name));
        write_event(b, g, &ev);
    }
}

impl<'a> Ev<'a> {
    fn reason(mut self, r: &'a str) -> Self {
        self.reason = Some(r);
        self
    }
}

fn eks_addon_update(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let (name, labels, spec, generation) = if g.rng.chance(0.5) {
        ("aws-node", AWS_NODE_LABELS, w.aws_node_ds.as_str(), 7)
    } else {
        ("kube-proxy", KUBE_PROXY_LABELS, w.kube_proxy_ds.as_str(), 4)
    };
    let rv = g.next_rv();
    let mut req = String::with_capacity(spec.len() + 400);
    req.push_str("{\"kind\":\"DaemonSet\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"");
    req.push_str(name);
    req.push_str("\",\"namespace\":\"kube-system\",\"labels\":");
    req.push_str(labels);
    req.push_str("},\"spec\":");
    req.push_str(spec);
    req.push('}');
    let mut resp = String::with_capacity(spec.len() + 800);
    resp.push_str("{\"kind\":\"DaemonSet\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"");
    resp.push_str(name);
    resp.push_str("\",\"namespace\":\"kube-system\",\"uid\":\"");
    g.rng.push_uuid(&mut resp);
    resp.push_str("\",\"resourceVersion\":\"");
    push_u64(&mut resp, rv);
    resp.push_str("\",\"generation\":");
    push_u64(&mut resp, generation);
    resp.push_str(",\"creationTimestamp\":\"2025-06-11T13:58:40Z\",\"labels\":");
    resp.push_str(labels);
    resp.push_str(",\"annotations\":{\"deprecated.daemonset.template.generation\":\"");
    push_u64(&mut resp, generation);
    resp.push_str("\"}},\"spec\":");
    resp.push_str(spec);
    let n = w.nodes.len() as u64;
    resp.push_str(",\"status\":{\"currentNumberScheduled\":");
    push_u64(&mut resp, n);
    resp.push_str(",\"numberMisscheduled\":0,\"desiredNumberScheduled\":");
    push_u64(&mut resp, n);
    resp.push_str(",\"numberReady\":");
    push_u64(&mut resp, n);
    resp.push_str(",\"observedGeneration\":");
    push_u64(&mut resp, generation);
    resp.push_str(",\"updatedNumberScheduled\":");
    push_u64(&mut resp, n);
    resp.push_str(",\"numberAvailable\":");
    push_u64(&mut resp, n);
    resp.push_str("}}");
    let uri = format!(
        "/apis/apps/v1/namespaces/kube-system/daemonsets/{name}?fieldManager=eks&force=true"
    );
    let lat = g.rng.latency(15_000, 20_000.0);
    let ev = Ev::new("RequestResponse", "patch", &uri, &w.addon_mgr, t, lat)
        .obj(
            ObjRef::new("daemonsets", "apps", "v1")
                .ns("kube-system")
                .name(name),
        )
        .bodies(Some(&req), Some(&resp));
    write_event(b, g, &ev);
}

/// Metadata-level reads of secrets and configmaps: kubelets' single-object watches and
/// controllers' gets.
fn secret_configmap_event(
    g: &mut Gen,
    w: &World,
    b: &mut String,
    t: i64,
    stage: Stage,
    spacing_us: f64,
) -> Option<Later> {
    let r = &w.secret_readers[g.rng.idx(w.secret_readers.len())];
    let (resource, ns, name) = &r.targets[g.rng.idx(r.targets.len())];
    let kubelet = r.ident.name.starts_with("system:node:");
    let obj = || ObjRef::new(resource, "", "v1").ns(ns).name(name);
    if kubelet || stage == Stage::Started {
        let rv = g.rv;
        let (q, secs) = watch_query(&mut g.rng, rv);
        let q = q.replacen(
            "?allowWatchBookmarks=true&",
            &format!("?allowWatchBookmarks=true&fieldSelector=metadata.name%3D{name}&"),
            1,
        );
        let uri = format!("/api/v1/namespaces/{ns}/{resource}{q}");
        if stage == Stage::Started {
            let id = g.rng.uuid();
            let lat = g.rng.latency(800, 1_500.0);
            let mut ev = Ev::new("Metadata", "watch", &uri, &r.ident, t, lat).obj(obj());
            ev.stage = Stage::Started;
            ev.audit_id = Some(&id);
            write_event(b, g, &ev);
            let mut c = String::with_capacity(b.len() + 64);
            let mut ev = Ev::new("Metadata", "watch", &uri, &r.ident, t, lat).obj(obj());
            ev.stage_us = None;
            ev.audit_id = Some(&id);
            let split = write_event(&mut c, g, &ev).expect("split");
            let suffix = c.split_off(split);
            return Some(Later {
                after: ((secs as f64 * 1e6) / spacing_us).ceil() as u64,
                prefix: c,
                suffix,
                cat: Cat::SecretConfigmapRead,
            });
        }
        let lat = secs as i64 * 1_000_000 + g.rng.latency(300, 2_000.0);
        let ev = Ev::new("Metadata", "watch", &uri, &r.ident, t, lat).obj(obj());
        write_event(b, g, &ev);
    } else {
        let uri = format!("/api/v1/namespaces/{ns}/{resource}/{name}");
        let lat = g.rng.latency(1_200, 2_000.0);
        let ev = Ev::new("Metadata", "get", &uri, &r.ident, t, lat).obj(obj());
        write_event(b, g, &ev);
    }
    None
}

fn secret_configmap_read(g: &mut Gen, w: &World, b: &mut String, t: i64, stage: Stage) {
    secret_configmap_event(g, w, b, t, stage, 25_000.0);
}

fn namespaced_reason(h: &Human, ns: &str) -> String {
    let policy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";
    format!(
        "EKS Access Policy: allowed by RoleBinding \"arn:aws:iam::{}:role/{}+{policy}/{ns}\" of ClusterRole \"{policy}\" to User \"{}\"",
        h.account, h.role, h.principal_id
    )
}

/// A person's kubectl read. At `Stage::Received` the RequestReceived event is written and
/// its completion returned.
fn human_read_event(g: &mut Gen, w: &World, b: &mut String, t: i64, stage: Stage) -> Option<Later> {
    let h = &w.humans[g.rng.idx(w.humans.len())];
    let mut ns = *g.rng.pick(&h.namespaces);
    if h.cluster_wide && g.rng.chance(0.08) {
        ns = "kube-system";
    }
    let roll = g.rng.f64();
    let reason: String = if h.cluster_wide {
        h.ident.reason.clone()
    } else {
        namespaced_reason(h, ns)
    };
    // (uri, verb, level, resource, group, version, name, subresource, latency)
    let (uri, verb, level, resource, group, version, name, sub, lat): (
        String,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        String,
        Option<&'static str>,
        i64,
    );
    if ns == "kube-system" {
        let pod = &w.coredns_pods[g.rng.idx(w.coredns_pods.len())];
        if roll < 0.5 {
            (uri, verb, level, resource, group, version, name, sub, lat) = (
                "/api/v1/namespaces/kube-system/pods?limit=500".to_string(),
                "list",
                "Request",
                "pods",
                "",
                "v1",
                String::new(),
                None,
                g.rng.latency(4_000, 12_000.0),
            );
        } else {
            (uri, verb, level, resource, group, version, name, sub, lat) = (
                format!(
                    "/api/v1/namespaces/kube-system/pods/{pod}/log?container=coredns&tailLines=200"
                ),
                "get",
                "Request",
                "pods",
                "",
                "v1",
                pod.clone(),
                Some("log"),
                g.rng.latency(20_000, 60_000.0),
            );
        }
    } else {
        let apps: Vec<&App> = w.apps.iter().filter(|a| a.ns == ns).collect();
        let app = apps[g.rng.idx(apps.len())];
        let pod = &app.pods[g.rng.idx(app.pods.len())];
        (uri, verb, level, resource, group, version, name, sub, lat) = if roll < 0.28 {
            (
                format!("/api/v1/namespaces/{ns}/pods?limit=500"),
                "list",
                "Request",
                "pods",
                "",
                "v1",
                String::new(),
                None,
                g.rng.latency(4_000, 10_000.0),
            )
        } else if roll < 0.43 {
            (
                format!("/api/v1/namespaces/{ns}/pods/{}", pod.name),
                "get",
                "Request",
                "pods",
                "",
                "v1",
                pod.name.clone(),
                None,
                g.rng.latency(2_000, 3_000.0),
            )
        } else if roll < 0.58 {
            (
                format!(
                    "/api/v1/namespaces/{ns}/pods/{}/log?container={}&tailLines=100",
                    pod.name, app.name
                ),
                "get",
                "Request",
                "pods",
                "",
                "v1",
                pod.name.clone(),
                Some("log"),
                g.rng.latency(15_000, 60_000.0),
            )
        } else if roll < 0.68 {
            (
                format!("/apis/apps/v1/namespaces/{ns}/deployments?limit=500"),
                "list",
                "Request",
                "deployments",
                "apps",
                "v1",
                String::new(),
                None,
                g.rng.latency(3_000, 6_000.0),
            )
        } else if roll < 0.78 {
            (
                format!("/apis/apps/v1/namespaces/{ns}/deployments/{}", app.name),
                "get",
                "Request",
                "deployments",
                "apps",
                "v1",
                app.name.to_string(),
                None,
                g.rng.latency(2_000, 3_000.0),
            )
        } else if roll < 0.84 {
            (
                format!("/api/v1/namespaces/{ns}/services?limit=500"),
                "list",
                "Request",
                "services",
                "",
                "v1",
                String::new(),
                None,
                g.rng.latency(2_500, 4_000.0),
            )
        } else if roll < 0.89 {
            let cm = format!("{}-config", app.name);
            (
                format!("/api/v1/namespaces/{ns}/configmaps/{cm}"),
                "get",
                "Metadata",
                "configmaps",
                "",
                "v1",
                cm,
                None,
                g.rng.latency(1_500, 2_000.0),
            )
        } else if roll < 0.95 {
            (
                format!("/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"),
                "list",
                "Request",
                "pods",
                "metrics.k8s.io",
                "v1beta1",
                String::new(),
                None,
                g.rng.latency(8_000, 20_000.0),
            )
        } else {
            (
                format!(
                    "/apis/apps/v1/namespaces/{ns}/replicasets?labelSelector=app.kubernetes.io%2Fname%3D{}&limit=500",
                    app.name
                ),
                "list",
                "Request",
                "replicasets",
                "apps",
                "v1",
                String::new(),
                None,
                g.rng.latency(3_000, 5_000.0),
            )
        };
    }
    let mut obj = ObjRef::new(resource, group, version).ns(ns).name(&name);
    obj.sub = sub;
    finish_human(
        g, b, t, stage, &h.ident, &reason, level, verb, &uri, obj, lat,
    )
}

fn human_read(g: &mut Gen, w: &World, b: &mut String, t: i64, stage: Stage) {
    human_read_event(g, w, b, t, stage);
}

#[allow(clippy::too_many_arguments)]
fn finish_human(
    g: &mut Gen,
    b: &mut String,
    t: i64,
    stage: Stage,
    who: &Ident,
    reason: &str,
    level: &'static str,
    verb: &'static str,
    uri: &str,
    obj: ObjRef,
    lat: i64,
) -> Option<Later> {
    if stage == Stage::Received {
        let id = g.rng.uuid();
        let mut ev = Ev::new(level, verb, uri, who, t, 0).obj(ObjRef { ..obj.clone_ref() });
        ev.stage = Stage::Received;
        ev.status = Status::None;
        ev.audit_id = Some(&id);
        write_event(b, g, &ev);
        let mut c = String::with_capacity(b.len() + 400);
        let mut ev = Ev::new(level, verb, uri, who, t, 0).obj(obj).reason(reason);
        ev.stage_us = None;
        ev.audit_id = Some(&id);
        let split = write_event(&mut c, g, &ev).expect("split");
        let suffix = c.split_off(split);
        return Some(Later {
            after: 1 + g.rng.below(2),
            prefix: c,
            suffix,
            cat: Cat::HumanRead,
        });
    }
    let ev = Ev::new(level, verb, uri, who, t, lat)
        .obj(obj)
        .reason(reason);
    write_event(b, g, &ev);
    None
}

impl ObjRef<'_> {
    fn clone_ref(&self) -> ObjRef<'_> {
        ObjRef {
            resource: self.resource,
            namespace: self.namespace,
            name: self.name,
            group: self.group,
            version: self.version,
            sub: self.sub,
        }
    }
}

fn human_denied(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let h = &w.humans[w.deniable[g.rng.idx(w.deniable.len())]];
    let lat = g.rng.latency(1_500, 2_000.0);
    let user = &h.ident.name;
    if g.rng.chance(0.6) {
        let msg = format!(
            "nodes is forbidden: User \"{user}\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"
        );
        let mut ev = Ev::new(
            "Request",
            "list",
            "/api/v1/nodes?limit=500",
            &h.ident,
            t,
            lat,
        )
        .obj(ObjRef::new("nodes", "", "v1"));
        ev.status = Status::Forbidden {
            message: &msg,
            details: "{\"kind\":\"nodes\"}",
        };
        ev.forbid = true;
        write_event(b, g, &ev);
    } else {
        let msg = format!(
            "deployments.apps \"coredns\" is forbidden: User \"{user}\" cannot get resource \"deployments\" in API group \"apps\" in the namespace \"kube-system\""
        );
        let mut ev = Ev::new(
            "Request",
            "get",
            "/apis/apps/v1/namespaces/kube-system/deployments/coredns",
            &h.ident,
            t,
            lat,
        )
        .obj(
            ObjRef::new("deployments", "apps", "v1")
                .ns("kube-system")
                .name("coredns"),
        );
        ev.status = Status::Forbidden {
            message: &msg,
            details: "{\"name\":\"coredns\",\"group\":\"apps\",\"kind\":\"deployments\"}",
        };
        ev.forbid = true;
        write_event(b, g, &ev);
    }
}

fn ci_deploy(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let app = &w.apps[g.rng.idx(w.apps.len())];
    let full = g.large_bodies;
    let roll = g.rng.f64();
    let lat = g.rng.latency(12_000, 25_000.0);
    let ns = app.ns;
    if roll < 0.55 {
        // Deployment rollout: kubectl apply, Helm upgrade or Argo CD server-side apply.
        let version = version_bump(&mut g.rng, app);
        let rv = g.next_rv();
        let generation = g.rng.range(8, 60);
        let which = g.rng.f64();
        let (who, manager, op, uri_q, verb) = if which < 0.5 {
            (
                &w.ci,
                "kubectl-client-side-apply",
                "Update",
                "?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
                "patch",
            )
        } else if which < 0.75 {
            (&w.helm, "helm", "Update", "?fieldManager=helm", "patch")
        } else {
            (
                &w.argocd,
                "argocd-controller",
                "Apply",
                "?fieldManager=argocd-controller&force=true",
                "patch",
            )
        };
        let mut req = String::with_capacity(4096);
        let lac = if manager == "kubectl-client-side-apply" && full {
            Some(deployment_manifest(app, &version))
        } else {
            None
        };
        if manager == "argocd-controller" {
            // Server-side apply: the whole object.
            req.push_str(
                "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"labels\":",
            );
            labels_json(&mut req, app, None);
            req.push_str(",\"annotations\":{\"argocd.argoproj.io/tracking-id\":\"");
            req.push_str(app.name);
            req.push_str(":apps/Deployment:");
            req.push_str(ns);
            req.push('/');
            req.push_str(app.name);
            req.push_str("\"},\"name\":\"");
            req.push_str(app.name);
            req.push_str("\",\"namespace\":\"");
            req.push_str(ns);
            req.push_str("\"},\"spec\":");
            deployment_spec_json(&mut req, app, &version, app.replicas, full);
            req.push('}');
        } else {
            req.push('{');
            if let Some(l) = &lac {
                req.push_str("\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":");
                push_json_str(&mut req, l);
                req.push_str("}},");
            }
            req.push_str(
                "\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"checksum/config\":\"",
            );
            g.rng.push_chars(&mut req, HEX, 64);
            req.push_str("\"}},\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"");
            req.push_str(app.name);
            req.push_str("\"}],\"containers\":[{\"image\":\"");
            req.push_str(&app.image);
            req.push(':');
            req.push_str(&version);
            req.push_str("\",\"name\":\"");
            req.push_str(app.name);
            req.push_str("\"}]}}}}");
        }
        let mut resp = String::with_capacity(8192);
        deployment_object(
            &mut resp,
            app,
            &version,
            rv,
            generation,
            t,
            manager,
            op,
            lac.as_deref(),
            full,
        );
        let uri = format!(
            "/apis/apps/v1/namespaces/{ns}/deployments/{}{uri_q}",
            app.name
        );
        let ev = Ev::new("RequestResponse", verb, &uri, who, t, lat)
            .obj(
                ObjRef::new("deployments", "apps", "v1")
                    .ns(ns)
                    .name(app.name),
            )
            .bodies(Some(&req), Some(&resp));
        write_event(b, g, &ev);
    } else if roll < 0.68 {
        // Service apply (ClusterIP).
        let rv = g.next_rv();
        let mut spec = String::with_capacity(400);
        spec.push_str("{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":\"http\"},{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9102,\"targetPort\":9102}],\"selector\":{\"app.kubernetes.io/name\":\"");
        spec.push_str(app.name);
        spec.push_str("\"},\"type\":\"ClusterIP\"}");
        let mut req = String::with_capacity(1200);
        req.push_str("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"labels\":");
        labels_json(&mut req, app, None);
        req.push_str(",\"name\":\"");
        req.push_str(app.name);
        req.push_str("\",\"namespace\":\"");
        req.push_str(ns);
        req.push_str("\"},\"spec\":");
        req.push_str(&spec);
        req.push('}');
        let mut resp = String::with_capacity(2000);
        resp.push_str("{\"kind\":\"Service\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"");
        resp.push_str(app.name);
        resp.push_str("\",\"namespace\":\"");
        resp.push_str(ns);
        resp.push_str("\",\"uid\":\"");
        g.rng.push_uuid(&mut resp);
        resp.push_str("\",\"resourceVersion\":\"");
        push_u64(&mut resp, rv);
        resp.push_str("\",\"creationTimestamp\":\"2025-09-14T08:14:27Z\",\"labels\":");
        labels_json(&mut resp, app, None);
        if full {
            resp.push_str(",\"managedFields\":[{\"manager\":\"argocd-controller\",\"operation\":\"Apply\",\"apiVersion\":\"v1\",\"time\":\"");
            push_ts_s(&mut resp, t);
            resp.push_str("\",\"fieldsType\":\"FieldsV1\",\"fieldsV1\":{\"f:metadata\":{\"f:labels\":{\"f:app.kubernetes.io/name\":{},\"f:app.kubernetes.io/part-of\":{}}},\"f:spec\":{\"f:ports\":{\"k:{\\\"port\\\":80,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:name\":{},\"f:port\":{},\"f:protocol\":{},\"f:targetPort\":{}},\"k:{\\\"port\\\":9102,\\\"protocol\\\":\\\"TCP\\\"}\":{\".\":{},\"f:name\":{},\"f:port\":{},\"f:protocol\":{},\"f:targetPort\":{}}},\"f:selector\":{},\"f:type\":{}}}}]");
        }
        resp.push_str("},\"spec\":{\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":\"http\"},{\"name\":\"metrics\",\"protocol\":\"TCP\",\"port\":9102,\"targetPort\":9102}],\"selector\":{\"app.kubernetes.io/name\":\"");
        resp.push_str(app.name);
        resp.push_str("\"},\"clusterIP\":\"172.20.");
        push_u64(&mut resp, g.rng.range(0, 255));
        resp.push('.');
        push_u64(&mut resp, g.rng.range(1, 254));
        resp.push_str("\",\"type\":\"ClusterIP\",\"sessionAffinity\":\"None\",\"ipFamilies\":[\"IPv4\"],\"ipFamilyPolicy\":\"SingleStack\",\"internalTrafficPolicy\":\"Cluster\"},\"status\":{\"loadBalancer\":{}}}");
        let uri = format!(
            "/api/v1/namespaces/{ns}/services/{}?fieldManager=argocd-controller&force=true",
            app.name
        );
        let ev = Ev::new("RequestResponse", "patch", &uri, &w.argocd, t, lat)
            .obj(ObjRef::new("services", "", "v1").ns(ns).name(app.name))
            .bodies(Some(&req), Some(&resp));
        write_event(b, g, &ev);
    } else if roll < 0.8 {
        // HPA apply by Helm.
        let rv = g.next_rv();
        let mut obj = String::with_capacity(1500);
        obj.push_str("{\"kind\":\"HorizontalPodAutoscaler\",\"apiVersion\":\"autoscaling/v2\",\"metadata\":{\"name\":\"");
        obj.push_str(app.name);
        obj.push_str("\",\"namespace\":\"");
        obj.push_str(ns);
        obj.push_str("\",\"labels\":{\"app.kubernetes.io/managed-by\":\"Helm\",\"app.kubernetes.io/name\":\"");
        obj.push_str(app.name);
        obj.push_str("\",\"helm.sh/chart\":\"");
        obj.push_str(app.name);
        obj.push_str("-0.");
        push_u64(&mut obj, g.rng.range(1, 40));
        obj.push_str(".0\"},\"annotations\":{\"meta.helm.sh/release-name\":\"");
        obj.push_str(app.name);
        obj.push_str("\",\"meta.helm.sh/release-namespace\":\"");
        obj.push_str(ns);
        obj.push_str("\"}},\"spec\":{\"scaleTargetRef\":{\"kind\":\"Deployment\",\"name\":\"");
        obj.push_str(app.name);
        obj.push_str("\",\"apiVersion\":\"apps/v1\"},\"minReplicas\":2,\"maxReplicas\":");
        push_u64(&mut obj, g.rng.range(6, 20));
        obj.push_str(",\"metrics\":[{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":70}}},{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}],\"behavior\":{\"scaleDown\":{\"stabilizationWindowSeconds\":300,\"selectPolicy\":\"Max\",\"policies\":[{\"type\":\"Percent\",\"value\":50,\"periodSeconds\":60}]}}},\"status\":{\"currentReplicas\":0,\"desiredReplicas\":0,\"currentMetrics\":null}}");
        let resp = obj.replacen(
            "\",\"labels\":",
            &format!("\",\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"2025-09-14T08:14:27Z\",\"labels\":", g.rng.uuid()),
            1,
        );
        let uri = format!(
            "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers/{}?fieldManager=helm",
            app.name
        );
        let ev = Ev::new("RequestResponse", "patch", &uri, &w.helm, t, lat)
            .obj(
                ObjRef::new("horizontalpodautoscalers", "autoscaling", "v2")
                    .ns(ns)
                    .name(app.name),
            )
            .bodies(Some(&obj), Some(&resp));
        write_event(b, g, &ev);
    } else if roll < 0.92 {
        // ConfigMap apply: Metadata only under EKS's policy.
        let name = format!("{}-config", app.name);
        let uri = format!(
            "/api/v1/namespaces/{ns}/configmaps/{name}?fieldManager=kubectl-client-side-apply&fieldValidation=Strict"
        );
        let ev = Ev::new("Metadata", "patch", &uri, &w.ci, t, lat)
            .obj(ObjRef::new("configmaps", "", "v1").ns(ns).name(&name));
        write_event(b, g, &ev);
    } else {
        // Helm's release record (a Secret, Metadata only).
        let name = format!("sh.helm.release.v1.{}.v{}", app.name, g.rng.range(20, 180));
        let uri = format!("/api/v1/namespaces/{ns}/secrets?fieldManager=helm");
        let ev = Ev::new("Metadata", "create", &uri, &w.helm, t, lat)
            .obj(ObjRef::new("secrets", "", "v1").ns(ns).name(&name))
            .code(201);
        write_event(b, g, &ev);
    }
}

const SCHEMA_WORDS: [&str; 24] = [
    "additionalScrapeConfigs",
    "affinity",
    "alerting",
    "enableFeatures",
    "externalLabels",
    "externalUrl",
    "hostAliases",
    "imagePullSecrets",
    "initContainers",
    "listenLocal",
    "logFormat",
    "nodeSelector",
    "podMetadata",
    "portName",
    "priorityClassName",
    "probeSelector",
    "remoteRead",
    "remoteWrite",
    "resources",
    "retention",
    "ruleSelector",
    "securityContext",
    "serviceMonitorSelector",
    "storage",
];

/// 50-200 KB objects: CRD applies, PrometheusRules and Argo CD Application status.
fn large_object(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let target = (50_000.0 * 4f64.powf(g.rng.f64())) as usize;
    let half = target / 2;
    let rv = g.next_rv();
    let lat = g.rng.latency(40_000, 80_000.0);
    let roll = g.rng.f64();
    if roll < 0.4 {
        let (plural, group, kind) = *g.rng.pick(&[
            ("prometheuses", "monitoring.coreos.com", "Prometheus"),
            ("alertmanagers", "monitoring.coreos.com", "Alertmanager"),
            ("applications", "argoproj.io", "Application"),
            ("nodepools", "karpenter.sh", "NodePool"),
            ("certificates", "cert-manager.io", "Certificate"),
        ]);
        let name = format!("{plural}.{group}");
        let mut props = String::with_capacity(half + 512);
        let mut i = 0usize;
        while props.len() < half {
            if i > 0 {
                props.push(',');
            }
            let word = SCHEMA_WORDS[i % SCHEMA_WORDS.len()];
            props.push('"');
            props.push_str(word);
            push_u64(&mut props, (i / SCHEMA_WORDS.len()) as u64);
            props.push_str("\":{\"description\":");
            push_json_str(
                &mut props,
                &format!(
                    "{word} defines the behaviour of this field for the {kind} resource. Sets the value used when the operator generates the workload and its configuration; if not specified the operator chooses a safe default. More info: https://{group}/docs/api-reference/#{}",
                    word.to_lowercase()
                ),
            );
            props.push_str(if i.is_multiple_of(3) {
                ",\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}"
            } else if i % 3 == 1 {
                ",\"type\":\"string\"}"
            } else {
                ",\"type\":\"array\",\"items\":{\"type\":\"string\"}}"
            });
            i += 1;
        }
        let mut spec = String::with_capacity(half + 1024);
        spec.push_str("{\"group\":\"");
        spec.push_str(group);
        spec.push_str("\",\"names\":{\"kind\":\"");
        spec.push_str(kind);
        spec.push_str("\",\"listKind\":\"");
        spec.push_str(kind);
        spec.push_str("List\",\"plural\":\"");
        spec.push_str(plural);
        spec.push_str("\",\"singular\":\"");
        spec.push_str(&kind.to_lowercase());
        spec.push_str("\"},\"scope\":\"Namespaced\",\"versions\":[{\"name\":\"v1\",\"schema\":{\"openAPIV3Schema\":{\"description\":");
        push_json_str(
            &mut spec,
            &format!(
                "The `{kind}` custom resource definition (CRD) defines a desired {kind} setup to run in a Kubernetes cluster."
            ),
        );
        spec.push_str(",\"type\":\"object\",\"properties\":{\"apiVersion\":{\"type\":\"string\"},\"kind\":{\"type\":\"string\"},\"metadata\":{\"type\":\"object\"},\"spec\":{\"type\":\"object\",\"properties\":{");
        spec.push_str(&props);
        spec.push_str("}},\"status\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}},\"served\":true,\"storage\":true,\"subresources\":{\"status\":{}}}]}");
        let mut req = String::with_capacity(spec.len() + 512);
        req.push_str("{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\",\"metadata\":{\"annotations\":{\"argocd.argoproj.io/sync-options\":\"ServerSideApply=true\",\"controller-gen.kubebuilder.io/version\":\"v0.16.4\"},\"name\":\"");
        req.push_str(&name);
        req.push_str("\"},\"spec\":");
        req.push_str(&spec);
        req.push('}');
        let mut resp = String::with_capacity(spec.len() + 1024);
        resp.push_str("{\"kind\":\"CustomResourceDefinition\",\"apiVersion\":\"apiextensions.k8s.io/v1\",\"metadata\":{\"name\":\"");
        resp.push_str(&name);
        resp.push_str("\",\"uid\":\"");
        g.rng.push_uuid(&mut resp);
        resp.push_str("\",\"resourceVersion\":\"");
        push_u64(&mut resp, rv);
        resp.push_str("\",\"generation\":");
        push_u64(&mut resp, g.rng.range(2, 30));
        resp.push_str(",\"creationTimestamp\":\"2025-06-11T14:20:07Z\",\"annotations\":{\"argocd.argoproj.io/sync-options\":\"ServerSideApply=true\",\"controller-gen.kubebuilder.io/version\":\"v0.16.4\"}},\"spec\":");
        resp.push_str(&spec);
        resp.push_str(",\"status\":{\"conditions\":[{\"type\":\"NamesAccepted\",\"status\":\"True\",\"lastTransitionTime\":\"2025-06-11T14:20:07Z\",\"reason\":\"NoConflicts\",\"message\":\"no conflicts found\"},{\"type\":\"Established\",\"status\":\"True\",\"lastTransitionTime\":\"2025-06-11T14:20:07Z\",\"reason\":\"InitialNamesAccepted\",\"message\":\"the initial names have been accepted\"}],\"acceptedNames\":{\"plural\":\"");
        resp.push_str(plural);
        resp.push_str("\",\"kind\":\"");
        resp.push_str(kind);
        resp.push_str("\"},\"storedVersions\":[\"v1\"]}}");
        let uri = format!(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}?fieldManager=argocd-controller&force=true"
        );
        let ev = Ev::new("RequestResponse", "patch", &uri, &w.argocd, t, lat)
            .obj(ObjRef::new("customresourcedefinitions", "apiextensions.k8s.io", "v1").name(&name))
            .bodies(Some(&req), Some(&resp));
        write_event(b, g, &ev);
    } else if roll < 0.75 {
        let name = *g.rng.pick(&[
            "kube-prometheus-stack-kubernetes-apps",
            "kube-prometheus-stack-kubernetes-resources",
            "kube-prometheus-stack-node-exporter",
            "kube-prometheus-stack-k8s-rules",
        ]);
        let mut groups = String::with_capacity(half + 512);
        let mut i = 0usize;
        groups.push_str("[{\"name\":\"kubernetes-apps\",\"rules\":[");
        while groups.len() < half {
            if i > 0 {
                groups.push(',');
            }
            groups.push_str("{\"alert\":\"KubePodCrashLooping");
            push_u64(&mut groups, i as u64);
            groups.push_str("\",\"annotations\":{\"description\":");
            push_json_str(
                &mut groups,
                "Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is in waiting state (reason: \"CrashLoopBackOff\") on cluster {{ $labels.cluster }}.",
            );
            groups.push_str(",\"runbook_url\":\"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping\",\"summary\":\"Pod is crash looping.\"},\"expr\":");
            push_json_str(
                &mut groups,
                &format!(
                    "max_over_time(kube_pod_container_status_waiting_reason{{reason=\"CrashLoopBackOff\", job=\"kube-state-metrics\", namespace=~\"{}\"}}[5m]) >= 1",
                    NAMESPACES[i % NAMESPACES.len()]
                ),
            );
            groups.push_str(",\"for\":\"15m\",\"labels\":{\"severity\":\"warning\"}}");
            i += 1;
        }
        groups.push_str("]}]");
        let mut req = String::with_capacity(groups.len() + 512);
        req.push_str("{\"apiVersion\":\"monitoring.coreos.com/v1\",\"kind\":\"PrometheusRule\",\"metadata\":{\"labels\":{\"app\":\"kube-prometheus-stack\",\"release\":\"kube-prometheus-stack\"},\"name\":\"");
        req.push_str(name);
        req.push_str("\",\"namespace\":\"monitoring\"},\"spec\":{\"groups\":");
        req.push_str(&groups);
        req.push_str("}}");
        let resp = req.replacen(
            "\"namespace\":\"monitoring\"}",
            &format!("\"namespace\":\"monitoring\",\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"generation\":12,\"creationTimestamp\":\"2025-06-11T14:21:40Z\"}}", g.rng.uuid()),
            1,
        );
        let uri = format!(
            "/apis/monitoring.coreos.com/v1/namespaces/monitoring/prometheusrules/{name}?fieldManager=argocd-controller&force=true"
        );
        let ev = Ev::new("RequestResponse", "patch", &uri, &w.argocd, t, lat)
            .obj(
                ObjRef::new("prometheusrules", "monitoring.coreos.com", "v1")
                    .ns("monitoring")
                    .name(name),
            )
            .bodies(Some(&req), Some(&resp));
        write_event(b, g, &ev);
    } else {
        let app = &w.apps[g.rng.idx(w.apps.len())];
        let mut res = String::with_capacity(half + 256);
        res.push('[');
        let kinds = [
            ("", "ConfigMap"),
            ("", "Service"),
            ("apps", "Deployment"),
            ("", "ServiceAccount"),
            ("autoscaling", "HorizontalPodAutoscaler"),
            ("policy", "PodDisruptionBudget"),
            ("monitoring.coreos.com", "ServiceMonitor"),
            ("networking.k8s.io", "NetworkPolicy"),
        ];
        let mut i = 0usize;
        while res.len() < half {
            if i > 0 {
                res.push(',');
            }
            let (group, kind) = kinds[i % kinds.len()];
            res.push_str("{\"group\":\"");
            res.push_str(group);
            res.push_str("\",\"version\":\"v1\",\"kind\":\"");
            res.push_str(kind);
            res.push_str("\",\"namespace\":\"");
            res.push_str(app.ns);
            res.push_str("\",\"name\":\"");
            res.push_str(app.name);
            res.push('-');
            push_u64(&mut res, i as u64);
            res.push_str("\",\"status\":\"Synced\",\"health\":{\"status\":\"Healthy\"}}");
            i += 1;
        }
        res.push(']');
        let rev = g.rng.chars(HEX, 40);
        let mut req = String::with_capacity(res.len() + 512);
        req.push_str("{\"status\":{\"reconciledAt\":\"");
        push_ts_s(&mut req, t);
        req.push_str("\",\"resources\":");
        req.push_str(&res);
        req.push_str(",\"sync\":{\"comparedTo\":{\"destination\":{\"namespace\":\"");
        req.push_str(app.ns);
        req.push_str(
            "\",\"server\":\"https://kubernetes.default.svc\"},\"source\":{\"path\":\"apps/",
        );
        req.push_str(app.name);
        req.push_str("\",\"repoURL\":\"https://github.com/example/platform-gitops.git\",\"targetRevision\":\"main\"}},\"revision\":\"");
        req.push_str(&rev);
        req.push_str("\",\"status\":\"Synced\"}}}");
        let mut resp = String::with_capacity(req.len() + 1024);
        resp.push_str("{\"apiVersion\":\"argoproj.io/v1alpha1\",\"kind\":\"Application\",\"metadata\":{\"name\":\"");
        resp.push_str(app.name);
        resp.push_str("\",\"namespace\":\"argocd\",\"uid\":\"");
        g.rng.push_uuid(&mut resp);
        resp.push_str("\",\"resourceVersion\":\"");
        push_u64(&mut resp, rv);
        resp.push_str("\",\"generation\":");
        push_u64(&mut resp, g.rng.range(100, 9000));
        resp.push_str(",\"creationTimestamp\":\"2025-09-14T08:10:02Z\"},\"spec\":{\"destination\":{\"namespace\":\"");
        resp.push_str(app.ns);
        resp.push_str("\",\"server\":\"https://kubernetes.default.svc\"},\"project\":\"default\",\"source\":{\"path\":\"apps/");
        resp.push_str(app.name);
        resp.push_str("\",\"repoURL\":\"https://github.com/example/platform-gitops.git\",\"targetRevision\":\"main\"},\"syncPolicy\":{\"automated\":{\"prune\":true,\"selfHeal\":true}}},");
        resp.push_str(&req[1..]);
        let uri = format!(
            "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/{}",
            app.name
        );
        let ev = Ev::new("RequestResponse", "patch", &uri, &w.argocd, t, lat)
            .obj(
                ObjRef::new("applications", "argoproj.io", "v1alpha1")
                    .ns("argocd")
                    .name(app.name),
            )
            .bodies(Some(&req), Some(&resp));
        write_event(b, g, &ev);
    }
}

fn scheduler_binding(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let app = &w.apps[g.rng.idx(w.apps.len())];
    let pod = format!(
        "{}-{}-{}",
        app.name,
        app.rs_hash,
        g.rng.chars(SUFFIX_ALPHABET, 5)
    );
    let node = &w.nodes[g.rng.idx(w.nodes.len())];
    let mut req = String::with_capacity(400);
    req.push_str("{\"kind\":\"Binding\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"");
    req.push_str(&pod);
    req.push_str("\",\"namespace\":\"");
    req.push_str(app.ns);
    req.push_str("\",\"uid\":\"");
    g.rng.push_uuid(&mut req);
    req.push_str("\",\"creationTimestamp\":null},\"target\":{\"kind\":\"Node\",\"name\":\"");
    req.push_str(&node.name);
    req.push_str("\"}}");
    let uri = format!("/api/v1/namespaces/{}/pods/{pod}/binding", app.ns);
    let lat = g.rng.latency(2_000, 2_000.0);
    let ev = Ev::new("RequestResponse", "create", &uri, &w.scheduler, t, lat)
        .obj(ObjRef::new("pods", "", "v1").ns(app.ns).name(&pod).sub("binding"))
        .code(201)
        .bodies(
            Some(&req),
            Some("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Success\",\"code\":201}"),
        );
    write_event(b, g, &ev);
}

const POD_ANNOTATIONS: &str = ",\"mutation.webhook.admission.k8s.io/round_0_index_0\":\"{\\\"configuration\\\":\\\"pod-identity-webhook\\\",\\\"webhook\\\":\\\"iam-for-pods.amazonaws.com\\\",\\\"mutated\\\":false}\",\"mutation.webhook.admission.k8s.io/round_0_index_1\":\"{\\\"configuration\\\":\\\"vpc-resource-mutating-webhook\\\",\\\"webhook\\\":\\\"mpod.vpc.k8s.aws\\\",\\\"mutated\\\":false}\",\"pod-security.kubernetes.io/enforce-policy\":\"privileged:latest\"";

fn pod_create(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let app = &w.apps[g.rng.idx(w.apps.len())];
    let suffix = g.rng.chars(SUFFIX_ALPHABET, 5);
    let rs = format!("{}-{}", app.name, app.rs_hash);
    let mut meta = String::with_capacity(600);
    meta.push_str("\"generateName\":\"");
    meta.push_str(&rs);
    meta.push_str("-\",\"namespace\":\"");
    meta.push_str(app.ns);
    meta.push('"');
    let mut owner = String::with_capacity(300);
    owner.push_str(",\"labels\":");
    labels_json(&mut owner, app, Some(&app.rs_hash));
    owner.push_str(
        ",\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"",
    );
    owner.push_str(&rs);
    owner.push_str("\",\"uid\":\"");
    owner.push_str(&app.rs_uid);
    owner.push_str("\",\"controller\":true,\"blockOwnerDeletion\":true}]");
    let mut spec = String::with_capacity(2500);
    pod_spec_json(&mut spec, app, &app.version, g.large_bodies);
    let mut req = String::with_capacity(3500);
    req.push_str("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{");
    req.push_str(&meta);
    req.push_str(",\"creationTimestamp\":null");
    req.push_str(&owner);
    req.push_str("},\"spec\":");
    req.push_str(&spec);
    req.push_str(",\"status\":{}}");
    let rv = g.next_rv();
    let mut resp = String::with_capacity(4500);
    resp.push_str("{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"");
    resp.push_str(&rs);
    resp.push('-');
    resp.push_str(&suffix);
    resp.push_str("\",");
    resp.push_str(&meta);
    resp.push_str(",\"uid\":\"");
    g.rng.push_uuid(&mut resp);
    resp.push_str("\",\"resourceVersion\":\"");
    push_u64(&mut resp, rv);
    resp.push_str("\",\"creationTimestamp\":\"");
    push_ts_s(&mut resp, t);
    resp.push('"');
    resp.push_str(&owner);
    // The API server adds the projected token volume, tolerations and defaults.
    let spec_resp = spec.replacen(
        "{\"containers\":[",
        &format!("{{\"volumes\":[{{\"name\":\"kube-api-access-{suffix}\",\"projected\":{{\"sources\":[{{\"serviceAccountToken\":{{\"expirationSeconds\":3607,\"path\":\"token\"}}}},{{\"configMap\":{{\"name\":\"kube-root-ca.crt\",\"items\":[{{\"key\":\"ca.crt\",\"path\":\"ca.crt\"}}]}}}},{{\"downwardAPI\":{{\"items\":[{{\"path\":\"namespace\",\"fieldRef\":{{\"apiVersion\":\"v1\",\"fieldPath\":\"metadata.namespace\"}}}}]}}}}],\"defaultMode\":420}}}}],\"containers\":["),
        1,
    );
    let spec_resp = spec_resp.replacen(
        ",\"enableServiceLinks\":true}",
        ",\"tolerations\":[{\"key\":\"node.kubernetes.io/not-ready\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300},{\"key\":\"node.kubernetes.io/unreachable\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":300}],\"priority\":0,\"enableServiceLinks\":true,\"preemptionPolicy\":\"PreemptLowerPriority\"}",
        1,
    );
    resp.push_str("},\"spec\":");
    resp.push_str(&spec_resp);
    resp.push_str(",\"status\":{\"phase\":\"Pending\",\"qosClass\":\"Burstable\"}}");
    let uri = format!("/api/v1/namespaces/{}/pods", app.ns);
    let lat = g.rng.latency(8_000, 12_000.0);
    let mut ev = Ev::new("RequestResponse", "create", &uri, &w.rs_ctrl, t, lat)
        .obj(ObjRef::new("pods", "", "v1").ns(app.ns))
        .code(201)
        .bodies(Some(&req), Some(&resp));
    ev.annotations = POD_ANNOTATIONS;
    write_event(b, g, &ev);
}

fn token_review(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let n = &w.nodes[g.rng.idx(w.nodes.len())];
    let lat = g.rng.latency(1_500, 2_000.0);
    let ev = Ev::new(
        "Metadata",
        "create",
        "/apis/authentication.k8s.io/v1/tokenreviews",
        &n.ident,
        t,
        lat,
    )
    .obj(ObjRef::new("tokenreviews", "authentication.k8s.io", "v1"))
    .code(201);
    write_event(b, g, &ev);
}

fn serviceaccount_token(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let n = &w.nodes[g.rng.idx(w.nodes.len())];
    let (ns, sa): (&str, &str) = if n.apps.is_empty() || g.rng.chance(0.5) {
        *g.rng.pick(&[
            ("kube-system", "aws-node"),
            ("kube-system", "kube-proxy"),
            ("kube-system", "ebs-csi-node-sa"),
            ("kube-system", "eks-pod-identity-agent"),
            ("monitoring", "prometheus-node-exporter"),
        ])
    } else {
        let app = &w.apps[n.apps[g.rng.idx(n.apps.len())]];
        (app.ns, app.name)
    };
    let uri = format!("/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token");
    let lat = g.rng.latency(2_500, 3_000.0);
    let ev = Ev::new("Metadata", "create", &uri, &n.ident, t, lat)
        .obj(
            ObjRef::new("serviceaccounts", "", "v1")
                .ns(ns)
                .name(sa)
                .sub("token"),
        )
        .code(201);
    write_event(b, g, &ev);
}

fn health_probe(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let who = &w.probes[g.rng.idx(w.probes.len())];
    let uri = *g.rng.pick(&[
        "/readyz",
        "/livez",
        "/healthz",
        "/readyz",
        "/livez?verbose",
        "/readyz?exclude=etcd",
    ]);
    let lat = g.rng.latency(90, 400.0);
    let ev = Ev::new("Metadata", "get", uri, who, t, lat);
    write_event(b, g, &ev);
}

/// A RequestReceived or ResponseStarted event; its ResponseComplete follows later.
fn non_final_stage(g: &mut Gen, w: &World, b: &mut String, t: i64, spacing_us: f64) -> Later {
    let roll = g.rng.f64();
    let later = if roll < 0.4 {
        controller_read_event(g, w, b, t, Stage::Started, spacing_us)
    } else if roll < 0.6 {
        secret_configmap_event(g, w, b, t, Stage::Started, spacing_us)
    } else {
        human_read_event(g, w, b, t, Stage::Received)
    };
    later.expect("non-final stages always have a completion")
}

// ---------------------------------------------------------------------------------------
// Categories: attacks (only with `attacks`)

fn attack_aws_auth(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let h = &w.humans[0];
    let acct = &w.account;
    let map_roles = format!(
        "- groups:\n  - system:bootstrappers\n  - system:nodes\n  rolearn: arn:aws:iam::{acct}:role/{}-node-role\n  username: system:node:{{{{EC2PrivateDNSName}}}}\n- groups:\n  - system:masters\n  rolearn: arn:aws:iam::{acct}:role/BuildAgent\n  username: build-agent\n",
        w.cluster
    );
    let mut req = String::from("{\"data\":{\"mapRoles\":");
    push_json_str(&mut req, &map_roles);
    req.push_str("}}");
    let rv = g.next_rv();
    let mut resp = String::from(
        "{\"kind\":\"ConfigMap\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"aws-auth\",\"namespace\":\"kube-system\",\"uid\":\"",
    );
    g.rng.push_uuid(&mut resp);
    resp.push_str("\",\"resourceVersion\":\"");
    push_u64(&mut resp, rv);
    resp.push_str("\",\"creationTimestamp\":\"2025-06-11T14:02:51Z\"},\"data\":{\"mapAccounts\":\"[]\\n\",\"mapRoles\":");
    push_json_str(&mut resp, &map_roles);
    resp.push_str(",\"mapUsers\":\"[]\\n\"}}");
    let lat = g.rng.latency(15_000, 10_000.0);
    let ev = Ev::new(
        "RequestResponse",
        "patch",
        "/api/v1/namespaces/kube-system/configmaps/aws-auth?fieldManager=kubectl-edit&fieldValidation=Strict",
        &h.ident,
        t,
        lat,
    )
    .obj(ObjRef::new("configmaps", "", "v1").ns("kube-system").name("aws-auth"))
    .bodies(Some(&req), Some(&resp));
    write_event(b, g, &ev);
}

fn attack_exec(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let h = &w.humans[0];
    let pod = &w.coredns_pods[g.rng.idx(w.coredns_pods.len())];
    let uri = format!(
        "/api/v1/namespaces/kube-system/pods/{pod}/exec?command=sh&command=-c&command=cat%20%2Fvar%2Frun%2Fsecrets%2Fkubernetes.io%2Fserviceaccount%2Ftoken&container=coredns&stdin=true&stdout=true&tty=true"
    );
    let lat = g.rng.latency(900_000, 2_000_000.0);
    let ev = Ev::new("Request", "get", &uri, &h.ident, t, lat)
        .obj(
            ObjRef::new("pods", "", "v1")
                .ns("kube-system")
                .name(pod)
                .sub("exec"),
        )
        .code(101);
    write_event(b, g, &ev);
}

fn attack_privileged(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let h = &w.humans[1];
    let spec = "{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"node-debugger\"}},\"template\":{\"metadata\":{\"creationTimestamp\":null,\"labels\":{\"app\":\"node-debugger\"}},\"spec\":{\"volumes\":[{\"name\":\"host-root\",\"hostPath\":{\"path\":\"/\",\"type\":\"\"}}],\"containers\":[{\"name\":\"debugger\",\"image\":\"docker.io/library/ubuntu:24.04\",\"command\":[\"sleep\",\"infinity\"],\"resources\":{},\"volumeMounts\":[{\"name\":\"host-root\",\"mountPath\":\"/host\"}],\"terminationMessagePath\":\"/dev/termination-log\",\"terminationMessagePolicy\":\"File\",\"imagePullPolicy\":\"IfNotPresent\",\"securityContext\":{\"privileged\":true}}],\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":30,\"dnsPolicy\":\"ClusterFirst\",\"hostPID\":true,\"securityContext\":{},\"schedulerName\":\"default-scheduler\",\"enableServiceLinks\":true}},\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxUnavailable\":\"25%\",\"maxSurge\":\"25%\"}},\"revisionHistoryLimit\":10,\"progressDeadlineSeconds\":600}";
    let req = format!(
        "{{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{{\"name\":\"node-debugger\",\"namespace\":\"default\",\"creationTimestamp\":null,\"labels\":{{\"app\":\"node-debugger\"}}}},\"spec\":{spec},\"status\":{{}}}}"
    );
    let rv = g.next_rv();
    let resp = format!(
        "{{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{{\"name\":\"node-debugger\",\"namespace\":\"default\",\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"generation\":1,\"creationTimestamp\":\"{}\",\"labels\":{{\"app\":\"node-debugger\"}}}},\"spec\":{spec},\"status\":{{}}}}",
        g.rng.uuid(),
        ts_s(t)
    );
    let lat = g.rng.latency(12_000, 10_000.0);
    let reason = namespaced_reason(h, "default");
    let ev = Ev::new(
        "RequestResponse",
        "create",
        "/apis/apps/v1/namespaces/default/deployments?fieldManager=kubectl-create&fieldValidation=Strict",
        &h.ident,
        t,
        lat,
    )
    .obj(ObjRef::new("deployments", "apps", "v1").ns("default").name("node-debugger"))
    .code(201)
    .bodies(Some(&req), Some(&resp))
    .reason(&reason);
    write_event(b, g, &ev);
}

fn attack_anonymous(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let lat = g.rng.latency(3_000, 5_000.0);
    let ev = Ev::new(
        "Request",
        "list",
        "/api/v1/namespaces/default/pods",
        &w.anon_attacker,
        t,
        lat,
    )
    .obj(ObjRef::new("pods", "", "v1").ns("default"));
    write_event(b, g, &ev);
}

fn attack_cluster_admin(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let h = &w.humans[0];
    let body = "\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"default\",\"namespace\":\"default\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"cluster-admin\"}";
    let req = format!(
        "{{\"kind\":\"ClusterRoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{{\"name\":\"default-sa-admin\",\"creationTimestamp\":null}},{body}}}"
    );
    let rv = g.next_rv();
    let resp = format!(
        "{{\"kind\":\"ClusterRoleBinding\",\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"metadata\":{{\"name\":\"default-sa-admin\",\"uid\":\"{}\",\"resourceVersion\":\"{rv}\",\"creationTimestamp\":\"{}\"}},{body}}}",
        g.rng.uuid(),
        ts_s(t)
    );
    let lat = g.rng.latency(10_000, 8_000.0);
    let ev = Ev::new(
        "RequestResponse",
        "create",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create&fieldValidation=Strict",
        &h.ident,
        t,
        lat,
    )
    .obj(ObjRef::new("clusterrolebindings", "rbac.authorization.k8s.io", "v1").name("default-sa-admin"))
    .code(201)
    .bodies(Some(&req), Some(&resp));
    write_event(b, g, &ev);
}

fn attack_secrets_list(g: &mut Gen, w: &World, b: &mut String, t: i64) {
    let h = &w.humans[2];
    let lat = g.rng.latency(20_000, 40_000.0);
    let ev = Ev::new(
        "Metadata",
        "list",
        "/api/v1/secrets?limit=500",
        &h.ident,
        t,
        lat,
    )
    .obj(ObjRef::new("secrets", "", "v1"));
    write_event(b, g, &ev);
}

// ---------------------------------------------------------------------------------------
// EKS add-on DaemonSets (from the VPC CNI and kube-proxy add-ons)

const AWS_NODE_LABELS: &str = r#"{"app.kubernetes.io/instance":"aws-vpc-cni","app.kubernetes.io/managed-by":"Helm","app.kubernetes.io/name":"aws-node","app.kubernetes.io/version":"v1.18.5","helm.sh/chart":"aws-vpc-cni-1.18.5","k8s-app":"aws-node"}"#;
const AWS_NODE_DS: &str = r#"{"selector":{"matchLabels":{"k8s-app":"aws-node"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"app.kubernetes.io/instance":"aws-vpc-cni","app.kubernetes.io/name":"aws-node","k8s-app":"aws-node"}},"spec":{"volumes":[{"name":"bpf-pin-path","hostPath":{"path":"/sys/fs/bpf","type":""}},{"name":"cni-bin-dir","hostPath":{"path":"/opt/cni/bin","type":""}},{"name":"cni-net-dir","hostPath":{"path":"/etc/cni/net.d","type":""}},{"name":"log-dir","hostPath":{"path":"/var/log/aws-routed-eni","type":"DirectoryOrCreate"}},{"name":"run-dir","hostPath":{"path":"/var/run/aws-node","type":"DirectoryOrCreate"}},{"name":"xtables-lock","hostPath":{"path":"/run/xtables.lock","type":"FileOrCreate"}}],"initContainers":[{"name":"aws-vpc-cni-init","image":"602401143452.dkr.ecr.{REGION}.amazonaws.com/amazon-k8s-cni-init:v1.18.5-eksbuild.1","env":[{"name":"DISABLE_TCP_EARLY_DEMUX","value":"false"},{"name":"ENABLE_IPv6","value":"false"}],"resources":{"requests":{"cpu":"25m"}},"volumeMounts":[{"name":"cni-bin-dir","mountPath":"/host/opt/cni/bin"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{"privileged":true}}],"containers":[{"name":"aws-node","image":"602401143452.dkr.ecr.{REGION}.amazonaws.com/amazon-k8s-cni:v1.18.5-eksbuild.1","ports":[{"name":"metrics","containerPort":61678,"protocol":"TCP"}],"env":[{"name":"ADDITIONAL_ENI_TAGS","value":"{}"},{"name":"ANNOTATE_POD_IP","value":"false"},{"name":"AWS_VPC_CNI_NODE_PORT_SUPPORT","value":"true"},{"name":"AWS_VPC_ENI_MTU","value":"9001"},{"name":"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG","value":"false"},{"name":"AWS_VPC_K8S_CNI_EXTERNALSNAT","value":"false"},{"name":"AWS_VPC_K8S_CNI_LOGLEVEL","value":"DEBUG"},{"name":"AWS_VPC_K8S_CNI_LOG_FILE","value":"/host/var/log/aws-routed-eni/ipamd.log"},{"name":"AWS_VPC_K8S_CNI_RANDOMIZESNAT","value":"prng"},{"name":"AWS_VPC_K8S_CNI_VETHPREFIX","value":"eni"},{"name":"AWS_VPC_K8S_PLUGIN_LOG_FILE","value":"/var/log/aws-routed-eni/plugin.log"},{"name":"AWS_VPC_K8S_PLUGIN_LOG_LEVEL","value":"DEBUG"},{"name":"CLUSTER_NAME","value":"{CLUSTER}"},{"name":"DISABLE_INTROSPECTION","value":"false"},{"name":"DISABLE_METRICS","value":"false"},{"name":"DISABLE_NETWORK_RESOURCE_PROVISIONING","value":"false"},{"name":"ENABLE_IPv4","value":"true"},{"name":"ENABLE_IPv6","value":"false"},{"name":"ENABLE_POD_ENI","value":"false"},{"name":"ENABLE_PREFIX_DELEGATION","value":"false"},{"name":"NETWORK_POLICY_ENFORCING_MODE","value":"standard"},{"name":"VPC_CNI_VERSION","value":"v1.18.5"},{"name":"VPC_ID","value":"{VPC}"},{"name":"WARM_ENI_TARGET","value":"1"},{"name":"WARM_PREFIX_TARGET","value":"1"},{"name":"MY_NODE_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}},{"name":"MY_POD_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.name"}}}],"resources":{"requests":{"cpu":"25m"}},"volumeMounts":[{"name":"cni-bin-dir","mountPath":"/host/opt/cni/bin"},{"name":"cni-net-dir","mountPath":"/host/etc/cni/net.d"},{"name":"log-dir","mountPath":"/host/var/log/aws-routed-eni"},{"name":"run-dir","mountPath":"/var/run/aws-node"},{"name":"xtables-lock","mountPath":"/run/xtables.lock"}],"livenessProbe":{"exec":{"command":["/app/grpc-health-probe","-addr=:50051","-connect-timeout=5s","-rpc-timeout=5s"]},"initialDelaySeconds":60,"timeoutSeconds":10,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},"readinessProbe":{"exec":{"command":["/app/grpc-health-probe","-addr=:50051","-connect-timeout=5s","-rpc-timeout=5s"]},"initialDelaySeconds":1,"timeoutSeconds":10,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{"capabilities":{"add":["NET_ADMIN","NET_RAW"]}}},{"name":"aws-eks-nodeagent","image":"602401143452.dkr.ecr.{REGION}.amazonaws.com/amazon/aws-network-policy-agent:v1.1.5-eksbuild.1","args":["--enable-ipv6=false","--enable-network-policy=false","--enable-cloudwatch-logs=false","--enable-policy-event-logs=false","--log-file=/var/log/aws-routed-eni/network-policy-agent.log","--metrics-bind-addr=:8162","--health-probe-bind-addr=:8163","--conntrack-cache-cleanup-period=300"],"env":[{"name":"MY_NODE_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}}],"resources":{"requests":{"cpu":"25m"}},"volumeMounts":[{"name":"bpf-pin-path","mountPath":"/sys/fs/bpf"},{"name":"log-dir","mountPath":"/var/log/aws-routed-eni"},{"name":"run-dir","mountPath":"/var/run/aws-node"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{"capabilities":{"add":["NET_ADMIN"]},"privileged":true}}],"restartPolicy":"Always","terminationGracePeriodSeconds":10,"dnsPolicy":"ClusterFirst","serviceAccountName":"aws-node","serviceAccount":"aws-node","hostNetwork":true,"securityContext":{},"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]},{"key":"kubernetes.io/arch","operator":"In","values":["amd64","arm64"]},{"key":"eks.amazonaws.com/compute-type","operator":"NotIn","values":["fargate","hybrid","auto"]}]}]}}},"schedulerName":"default-scheduler","tolerations":[{"operator":"Exists"}],"priorityClassName":"system-node-critical","enableServiceLinks":true}},"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"10%","maxSurge":0}},"revisionHistoryLimit":10}"#;
const KUBE_PROXY_LABELS: &str =
    r#"{"eks.amazonaws.com/component":"kube-proxy","k8s-app":"kube-proxy"}"#;
const KUBE_PROXY_DS: &str = r#"{"selector":{"matchLabels":{"k8s-app":"kube-proxy"}},"template":{"metadata":{"creationTimestamp":null,"labels":{"k8s-app":"kube-proxy"}},"spec":{"volumes":[{"name":"varlog","hostPath":{"path":"/var/log","type":""}},{"name":"xtables-lock","hostPath":{"path":"/run/xtables.lock","type":"FileOrCreate"}},{"name":"lib-modules","hostPath":{"path":"/lib/modules","type":""}},{"name":"kubeconfig","configMap":{"name":"kube-proxy","defaultMode":420}},{"name":"config","configMap":{"name":"kube-proxy-config","defaultMode":420}}],"containers":[{"name":"kube-proxy","image":"602401143452.dkr.ecr.{REGION}.amazonaws.com/eks/kube-proxy:v1.31.2-minimal-eksbuild.3","command":["kube-proxy","--v=2","--config=/var/lib/kube-proxy-config/config","--hostname-override=$(NODE_NAME)"],"env":[{"name":"NODE_NAME","valueFrom":{"fieldRef":{"apiVersion":"v1","fieldPath":"spec.nodeName"}}}],"resources":{"requests":{"cpu":"100m"}},"volumeMounts":[{"name":"varlog","mountPath":"/var/log"},{"name":"xtables-lock","mountPath":"/run/xtables.lock"},{"name":"lib-modules","readOnly":true,"mountPath":"/lib/modules"},{"name":"kubeconfig","mountPath":"/var/lib/kube-proxy/"},{"name":"config","mountPath":"/var/lib/kube-proxy-config/"}],"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent","securityContext":{"privileged":true}}],"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"kube-proxy","serviceAccount":"kube-proxy","hostNetwork":true,"securityContext":{},"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"kubernetes.io/os","operator":"In","values":["linux"]},{"key":"kubernetes.io/arch","operator":"In","values":["amd64","arm64"]},{"key":"eks.amazonaws.com/compute-type","operator":"NotIn","values":["fargate","hybrid","auto"]}]}]}}},"schedulerName":"default-scheduler","tolerations":[{"operator":"Exists"}],"priorityClassName":"system-node-critical","enableServiceLinks":true}},"updateStrategy":{"type":"RollingUpdate","rollingUpdate":{"maxUnavailable":"10%","maxSurge":0}},"revisionHistoryLimit":10}"#;

// ---------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::{BTreeMap, BTreeSet, HashSet};

    fn take(spec: CorpusSpec, n: usize) -> Vec<GeneratedEvent> {
        Corpus::new(spec).take(n).collect()
    }

    fn attacks_on() -> CorpusSpec {
        CorpusSpec {
            attacks: true,
            ..CorpusSpec::default()
        }
    }

    /// "2026-11-24T09:00:00.123456Z" → epoch µs.
    fn parse_ts_us(s: &str) -> i64 {
        let y: i64 = s[0..4].parse().unwrap();
        let m: i64 = s[5..7].parse().unwrap();
        let d: i64 = s[8..10].parse().unwrap();
        let hh: i64 = s[11..13].parse().unwrap();
        let mm: i64 = s[14..16].parse().unwrap();
        let ss: i64 = s[17..19].parse().unwrap();
        assert_eq!(&s[19..20], ".", "{s}");
        let us: i64 = s[20..26].parse().unwrap();
        assert_eq!(&s[26..], "Z", "{s}");
        let (y2, m2) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let doy = (153 * m2 + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        ((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1_000_000) + us
    }

    fn s<'a>(v: &'a Value, ptr: &str) -> &'a str {
        v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
    }

    fn is_private(ip: &str) -> bool {
        ip.starts_with("10.")
            || ip.starts_with("192.168.")
            || (ip.starts_with("172.")
                && ip
                    .split('.')
                    .nth(1)
                    .and_then(|o| o.parse::<u8>().ok())
                    .is_some_and(|o| (16..=31).contains(&o)))
    }

    /// Walks a request body: privileged flags, host namespaces, hostPaths, images, added
    /// capabilities.
    #[derive(Default)]
    struct Body {
        privileged: bool,
        host_ns: bool,
        host_path: bool,
        images: Vec<String>,
        caps_add: Vec<String>,
    }

    fn walk(v: &Value, out: &mut Body) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    match (k.as_str(), x) {
                        ("privileged", Value::Bool(true)) => out.privileged = true,
                        ("hostPID" | "hostIPC" | "hostNetwork", Value::Bool(true)) => {
                            out.host_ns = true
                        }
                        ("hostPath", Value::Object(_)) => out.host_path = true,
                        ("image", Value::String(i)) => out.images.push(i.clone()),
                        ("add", Value::Array(a)) => out
                            .caps_add
                            .extend(a.iter().filter_map(|c| c.as_str().map(String::from))),
                        _ => {}
                    }
                    walk(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }

    /// Everything an EKS security tool could page on (medium or above in the target pack),
    /// plus a few low-severity trails the ordinary corpus avoids as well.
    fn suspicious(v: &Value) -> Vec<&'static str> {
        let mut k = Vec::new();
        let user = s(v, "/user/username");
        let groups: Vec<&str> = v
            .pointer("/user/groups")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let human = !user.starts_with("system:") && !user.starts_with("eks:");
        let code = v.pointer("/responseStatus/code").and_then(Value::as_u64);
        let decision = s(v, "/annotations/authorization.k8s.io~1decision");
        let ok = code.is_some_and(|c| c < 400) && decision != "forbid";
        let verb = s(v, "/verb");
        let res = s(v, "/objectRef/resource");
        let ns = v.pointer("/objectRef/namespace").and_then(Value::as_str);
        let name = s(v, "/objectRef/name");
        let sub = s(v, "/objectRef/subresource");
        let uri = s(v, "/requestURI");
        let write = matches!(
            verb,
            "create" | "update" | "patch" | "delete" | "deletecollection"
        );
        if res == "configmaps" && ns == Some("kube-system") && name == "aws-auth" && write && ok {
            k.push("aws_auth_write");
        }
        if res == "pods"
            && matches!(
                sub,
                "exec" | "attach" | "portforward" | "ephemeralcontainers"
            )
        {
            k.push("exec");
            if ns == Some("kube-system") {
                k.push("exec_kube_system");
            }
            if uri.contains("serviceaccount%2Ftoken") {
                k.push("exec_reads_token");
            }
        }
        let mut body = Body::default();
        if let Some(r) = v.get("requestObject") {
            walk(r, &mut body);
        }
        let eks_addon = user == "eks:addon-manager"
            && ns == Some("kube-system")
            && body
                .images
                .iter()
                .all(|i| i.starts_with("602401143452.dkr.ecr."));
        if body.privileged && !eks_addon {
            k.push("privileged");
        }
        if (body.host_ns || body.host_path) && !eks_addon {
            k.push("host_access");
        }
        if body.caps_add.iter().any(|c| c != "NET_BIND_SERVICE") && !eks_addon {
            k.push("capabilities");
        }
        let acct_ecr = format!("{}.dkr.ecr.", CorpusSpec::default().account);
        if body
            .images
            .iter()
            .any(|i| !i.starts_with(&acct_ecr) && !i.starts_with("602401143452.dkr.ecr."))
        {
            k.push("foreign_image");
        }
        let anonymous = user == "system:anonymous" || groups.contains(&"system:unauthenticated");
        let health = ["/readyz", "/livez", "/healthz", "/version"]
            .iter()
            .any(|p| uri.starts_with(p));
        if anonymous && ok && !health {
            k.push("anonymous_allowed");
        }
        if anonymous && !health {
            k.push("anonymous_any");
        }
        if matches!(
            res,
            "rolebindings" | "clusterrolebindings" | "roles" | "clusterroles"
        ) && write
        {
            k.push("rbac_write");
            if s(v, "/requestObject/roleRef/name") == "cluster-admin" {
                k.push("cluster_admin_binding");
            }
        }
        if res == "secrets" && matches!(verb, "list" | "watch") && ns.is_none() {
            k.push("secrets_list_cluster_wide");
        }
        if res == "secrets" && human && ok && matches!(verb, "get" | "list" | "watch") {
            k.push("human_secret_read");
        }
        if res == "secrets" && matches!(code, Some(401 | 403)) {
            k.push("secret_denied");
        }
        if res == "secrets" && human && write && ns == Some("kube-system") {
            k.push("human_secret_write_kube_system");
        }
        let workload = matches!(
            res,
            "pods"
                | "deployments"
                | "daemonsets"
                | "statefulsets"
                | "replicasets"
                | "jobs"
                | "cronjobs"
        );
        if human
            && write
            && workload
            && sub.is_empty()
            && matches!(ns, Some("kube-system" | "kube-public" | "kube-node-lease"))
        {
            k.push("human_workload_system_ns");
        }
        if human && write && matches!(res, "daemonsets" | "cronjobs") {
            k.push("human_daemonset_cronjob");
        }
        if res == "serviceaccounts" && sub == "token" && !user.starts_with("system:node:") {
            k.push("token_minted");
        }
        if matches!(
            s(v, "/requestObject/spec/type"),
            "NodePort" | "LoadBalancer"
        ) {
            k.push("exposed_service");
        }
        if res.ends_with("webhookconfigurations") && write {
            k.push("webhook_write");
        }
        if res == "certificatesigningrequests" && write {
            k.push("csr_write");
        }
        if res.starts_with("selfsubject") || res.ends_with("accessreviews") {
            k.push("permission_enumeration");
        }
        if matches!(res, "nodes" | "namespaces") && verb == "delete" {
            k.push("destructive_delete");
        }
        if res == "nodes" && sub == "proxy" {
            k.push("node_proxy");
        }
        if v.get("impersonatedUser").is_some() {
            k.push("impersonation");
        }
        if user == "kubernetes-admin" || groups.contains(&"system:masters") {
            k.push("break_glass");
        }
        let ip = v
            .pointer("/sourceIPs")
            .and_then(Value::as_array)
            .and_then(|a| a.last())
            .and_then(Value::as_str)
            .unwrap_or("");
        let wesley = matches!(user, "eks:addon-manager" | "eks:node-manager")
            && s(v, "/user/extra/arn/0").contains("AWSWesleyClusterManagerLambda");
        if (user.starts_with("system:") || user.starts_with("eks:"))
            && !anonymous
            && !is_private(ip)
            && !wesley
        {
            k.push("system_identity_public_ip");
        }
        if code.is_some_and(|c| c >= 500) {
            k.push("server_error");
        }
        k
    }

    fn parse_all(events: &[GeneratedEvent]) -> Vec<Value> {
        events
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(&e.message).unwrap_or_else(|err| {
                    panic!(
                        "invalid JSON ({err}): {}",
                        &e.message[..e.message.len().min(400)]
                    )
                })
            })
            .collect()
    }

    #[test]
    fn same_seed_same_events_different_seed_different() {
        let a = take(CorpusSpec::default(), 1000);
        let b = take(CorpusSpec::default(), 1000);
        assert_eq!(a, b);
        let c = take(
            CorpusSpec {
                seed: 42,
                ..CorpusSpec::default()
            },
            1000,
        );
        assert_ne!(a, c);
        let same = a
            .iter()
            .zip(&c)
            .filter(|(x, y)| x.message == y.message)
            .count();
        assert!(same < 10, "{same} identical messages across seeds");
        // Attack-enabled streams are deterministic too.
        assert_eq!(take(attacks_on(), 500), take(attacks_on(), 500));
    }

    #[test]
    fn every_message_is_an_audit_event() {
        for spec in [CorpusSpec::default(), attacks_on()] {
            let events = take(spec, 20_000);
            let values = parse_all(&events);
            let mut ids = HashSet::new();
            let mut per_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let order = [
                "\"kind\":",
                "\"apiVersion\":",
                "\"level\":",
                "\"auditID\":",
                "\"stage\":",
                "\"requestURI\":",
                "\"verb\":",
                "\"user\":",
                "\"sourceIPs\":",
                "\"userAgent\":",
            ];
            for (e, v) in events.iter().zip(&values) {
                assert!(!e.message.contains('\n'));
                assert_eq!(s(v, "/kind"), "Event");
                assert_eq!(s(v, "/apiVersion"), "audit.k8s.io/v1");
                assert!(matches!(
                    s(v, "/level"),
                    "Metadata" | "Request" | "RequestResponse"
                ));
                let stage = s(v, "/stage");
                assert!(matches!(
                    stage,
                    "RequestReceived" | "ResponseStarted" | "ResponseComplete"
                ));
                let id = s(v, "/auditID");
                assert_eq!(id.len(), 36);
                assert_eq!(id.matches('-').count(), 4);
                assert_eq!(&id[14..15], "4");
                assert!(
                    ids.insert((id.to_string(), stage.to_string())),
                    "duplicate {id} {stage}"
                );
                per_id
                    .entry(id.to_string())
                    .or_default()
                    .push(stage.to_string());
                assert!(s(v, "/requestURI").starts_with('/'));
                assert!(!s(v, "/verb").is_empty());
                assert!(!s(v, "/user/username").is_empty());
                assert!(
                    v.pointer("/user/groups")
                        .and_then(Value::as_array)
                        .is_some_and(|g| !g.is_empty())
                );
                assert!(!s(v, "/sourceIPs/0").is_empty());
                assert!(!s(v, "/userAgent").is_empty());
                // Field order as the API server writes it.
                let mut last = 0;
                for key in order {
                    let p = e
                        .message
                        .find(key)
                        .unwrap_or_else(|| panic!("{key} missing"));
                    assert!(p >= last, "{key} out of order");
                    last = p;
                }
                // Go's HTML-safe escaping: no raw & < > anywhere.
                assert!(
                    !e.message.contains('&')
                        && !e.message.contains('<')
                        && !e.message.contains('>')
                );
                let recv = parse_ts_us(s(v, "/requestReceivedTimestamp"));
                let done = parse_ts_us(s(v, "/stageTimestamp"));
                assert!(recv <= done);
                assert_eq!(done.div_euclid(1000), e.timestamp_ms);
                if stage == "RequestReceived" {
                    assert!(v.get("responseStatus").is_none() && v.get("annotations").is_none());
                    assert_eq!(recv, done);
                } else {
                    assert!(
                        v.pointer("/responseStatus/code")
                            .and_then(Value::as_u64)
                            .is_some()
                    );
                    assert!(matches!(
                        s(v, "/annotations/authorization.k8s.io~1decision"),
                        "allow" | "forbid"
                    ));
                }
                if s(v, "/level") == "Metadata" {
                    assert!(v.get("requestObject").is_none() && v.get("responseObject").is_none());
                }
                if matches!(
                    s(v, "/objectRef/resource"),
                    "secrets" | "configmaps" | "tokenreviews"
                ) && !(s(v, "/objectRef/name") == "aws-auth" && s(v, "/verb") != "get")
                {
                    assert_eq!(s(v, "/level"), "Metadata", "{}", e.message);
                }
                if s(v, "/user/uid").starts_with("aws-iam-authenticator:") {
                    for key in [
                        "accessKeyId",
                        "arn",
                        "canonicalArn",
                        "principalId",
                        "sessionName",
                    ] {
                        assert!(
                            v.pointer(&format!("/user/extra/{key}/0")).is_some(),
                            "{key}"
                        );
                    }
                }
            }
            // Non-final stages are followed by their completion (same auditID) unless the
            // watch is still open at the end of the sample.
            let complete_pairs = per_id.values().filter(|st| st.len() == 2).count();
            assert!(complete_pairs > 50, "{complete_pairs} paired stages");
            for st in per_id.values().filter(|st| st.len() == 2) {
                assert_eq!(st[1], "ResponseComplete");
            }
        }
    }

    #[test]
    fn sizes_mean_and_tail() {
        let events = take(CorpusSpec::default(), 20_000);
        let total: usize = events.iter().map(|e| e.message.len()).sum();
        let mean = total as f64 / events.len() as f64;
        let max = events.iter().map(|e| e.message.len()).max().unwrap();
        let over_50k = events.iter().filter(|e| e.message.len() > 50_000).count();
        println!("mean {mean:.0} B, max {max} B, {over_50k} events > 50 KB");
        assert!((1500.0..=3000.0).contains(&mean), "mean {mean}");
        assert!(max > 50_000 && max < 260_000, "max {max}");
        assert!(over_50k >= 1);
        // Without large bodies there is no tail.
        let small = take(
            CorpusSpec {
                large_bodies: false,
                ..CorpusSpec::default()
            },
            20_000,
        );
        let max = small.iter().map(|e| e.message.len()).max().unwrap();
        assert!(max < 20_000, "max {max} without large bodies");
        parse_all(&small);
    }

    #[test]
    fn ordinary_traffic_is_benign() {
        let events = take(CorpusSpec::default(), 50_000);
        let values = parse_all(&events);
        let mut found: BTreeMap<&str, usize> = BTreeMap::new();
        let mut forbidden_by_user_window: BTreeMap<(String, usize), usize> = BTreeMap::new();
        let mut secrets_by_actor: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut addon_patches = 0;
        for (i, v) in values.iter().enumerate() {
            for kind in suspicious(v) {
                if !found.contains_key(kind) {
                    println!(
                        "{kind}: {}",
                        &events[i].message[..events[i].message.len().min(600)]
                    );
                }
                *found.entry(kind).or_default() += 1;
            }
            if v.pointer("/responseStatus/code").and_then(Value::as_u64) == Some(403) {
                *forbidden_by_user_window
                    .entry((s(v, "/user/username").to_string(), i / 2000))
                    .or_default() += 1;
            }
            if s(v, "/objectRef/resource") == "secrets"
                && matches!(s(v, "/verb"), "get" | "list" | "watch")
            {
                secrets_by_actor
                    .entry(s(v, "/user/username").to_string())
                    .or_default()
                    .insert(format!(
                        "{}/{}",
                        s(v, "/objectRef/namespace"),
                        s(v, "/objectRef/name")
                    ));
            }
            if s(v, "/user/username") == "eks:addon-manager" && s(v, "/verb") == "patch" {
                addon_patches += 1;
            }
        }
        assert!(
            found.is_empty(),
            "suspicious patterns in ordinary traffic: {found:?}"
        );
        let total_403: usize = forbidden_by_user_window.values().sum();
        assert!(total_403 > 0 && total_403 < 40, "{total_403} denials");
        assert!(forbidden_by_user_window.values().all(|&n| n < 5));
        for (actor, set) in &secrets_by_actor {
            let distinct_secrets = set.len();
            assert!(
                distinct_secrets <= 6,
                "{actor} touches {distinct_secrets} secrets"
            );
        }
        assert!(
            addon_patches >= 1,
            "EKS add-on DaemonSet patches are part of the mix"
        );
    }

    #[test]
    fn attacks_yield_each_suspicious_kind() {
        let events = take(attacks_on(), 20_000);
        let values = parse_all(&events);
        let mut found: BTreeMap<&str, usize> = BTreeMap::new();
        for v in &values {
            for kind in suspicious(v) {
                *found.entry(kind).or_default() += 1;
            }
        }
        for kind in [
            "aws_auth_write",
            "exec_kube_system",
            "exec_reads_token",
            "privileged",
            "anonymous_allowed",
            "cluster_admin_binding",
            "secrets_list_cluster_wide",
        ] {
            assert!(
                found.get(kind).copied().unwrap_or(0) >= 3,
                "{kind}: {found:?}"
            );
        }
        let counts = category_counts(&attacks_on(), 20_000);
        let attacks: usize = counts
            .iter()
            .filter(|(c, _)| c.starts_with("attack_"))
            .map(|(_, n)| n)
            .sum();
        assert!(
            (20..=70).contains(&attacks),
            "{attacks} attack events in 20k"
        );
    }

    #[test]
    fn timestamps_non_decreasing_and_spaced() {
        for eps in [40.0, 1000.0, 2.5] {
            let spec = CorpusSpec {
                events_per_second: eps,
                ..CorpusSpec::default()
            };
            let start = spec.start_ms;
            let n = 5_000;
            let events = take(spec, n);
            assert!(events[0].timestamp_ms >= start);
            assert!(events[0].timestamp_ms as f64 <= start as f64 + 1000.0 / eps);
            for w in events.windows(2) {
                assert!(w[0].timestamp_ms <= w[1].timestamp_ms);
                assert!((w[1].timestamp_ms - w[0].timestamp_ms) as f64 <= 2.0 * 1000.0 / eps + 1.0);
            }
            let span = (events[n - 1].timestamp_ms - events[0].timestamp_ms) as f64;
            let expected = (n - 1) as f64 * 1000.0 / eps;
            assert!(
                (span - expected).abs() <= 1000.0 / eps + 1.0,
                "eps {eps}: span {span} vs {expected}"
            );
        }
        // Watches last minutes.
        let values = parse_all(&take(CorpusSpec::default(), 5_000));
        let long_watches = values
            .iter()
            .filter(|v| s(v, "/verb") == "watch" && s(v, "/stage") == "ResponseComplete")
            .map(|v| {
                parse_ts_us(s(v, "/stageTimestamp"))
                    - parse_ts_us(s(v, "/requestReceivedTimestamp"))
            })
            .filter(|&d| d >= 300_000_000)
            .count();
        assert!(long_watches > 50);
    }

    #[test]
    fn switches_control_probes_and_stages() {
        let spec = CorpusSpec {
            health_probes: false,
            ..CorpusSpec::default()
        };
        for v in parse_all(&take(spec, 10_000)) {
            assert_eq!(s(&v, "/stage"), "ResponseComplete");
            let uri = s(&v, "/requestURI");
            assert!(
                !uri.starts_with("/readyz")
                    && !uri.starts_with("/livez")
                    && !uri.starts_with("/healthz")
            );
        }
        let values = parse_all(&take(CorpusSpec::default(), 10_000));
        let probes = values
            .iter()
            .filter(|v| s(v, "/requestURI").ends_with("z") || s(v, "/requestURI").contains("z?"))
            .count();
        let non_final = values
            .iter()
            .filter(|v| s(v, "/stage") != "ResponseComplete")
            .count();
        assert!((150..=500).contains(&probes), "{probes} probes");
        assert!(
            (150..=500).contains(&non_final),
            "{non_final} non-final stages"
        );
    }

    #[test]
    fn category_counts_cover_the_mix() {
        let n = 20_000;
        let counts = category_counts(&CorpusSpec::default(), n);
        assert_eq!(counts.iter().map(|(_, c)| c).sum::<usize>(), n);
        let get = |name: &str| {
            counts
                .iter()
                .find(|(c, _)| *c == name)
                .map(|x| x.1)
                .unwrap_or(0)
        };
        let lease = get("kubelet_node_lease") as f64 / n as f64;
        assert!((0.26..0.34).contains(&lease), "lease share {lease}");
        assert!(get("kubelet_node_status_patch") > n / 15);
        assert!(get("large_object_apply") >= 5);
        assert!(counts.iter().all(|(c, _)| !c.starts_with("attack_")));
        // Per-category share and mean size (printed for the benchmark report).
        let mut corpus = Corpus::new(CorpusSpec::default());
        let mut sizes: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for _ in 0..n {
            let (e, cat) = corpus.next_event();
            let entry = sizes.entry(cat.name()).or_default();
            entry.0 += 1;
            entry.1 += e.message.len();
        }
        for (c, k) in &counts {
            let (cnt, bytes) = sizes[c];
            assert_eq!(cnt, *k);
            println!(
                "{c:32} {k:6} {:6.2}%  mean {:7.0} B",
                *k as f64 * 100.0 / n as f64,
                bytes as f64 / cnt as f64
            );
        }
    }

    #[test]
    fn json_helpers() {
        let mut b = String::new();
        push_json_str(&mut b, "a&b<c>\"d\\e\nf\u{1}g");
        assert_eq!(b, "\"a\\u0026b\\u003cc\\u003e\\\"d\\\\e\\nf\\u0001g\"");
        assert_eq!(
            serde_json::from_str::<String>(&b).unwrap(),
            "a&b<c>\"d\\e\nf\u{1}g"
        );
        let mut t = String::new();
        push_ts_us(&mut t, 1_795_510_800_000_000 + 123_456);
        assert_eq!(t, "2026-11-24T09:00:00.123456Z");
        assert_eq!(ts_s(951_782_400_000_000), "2000-02-29T00:00:00Z");
    }

    /// Rough generation speed (printed, not asserted):
    /// `cargo test --release generation_speed -- --nocapture`.
    #[test]
    fn generation_speed() {
        let n = 200_000;
        let start = std::time::Instant::now();
        let mut bytes = 0usize;
        for e in Corpus::new(CorpusSpec::default()).take(n) {
            bytes += e.message.len();
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "generated {n} events ({:.1} MB) in {secs:.3} s: {:.0} events/s, {:.0} MB/s",
            bytes as f64 / 1e6,
            n as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }
}
