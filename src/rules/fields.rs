//! Field extractors: `ka.*` (the k8saudit plugin's fields), `jevt.*`/`json.*` (the json
//! plugin's) and `eaw.*` (our enrichment). A field name and argument are resolved once, at
//! load, into a [`Field`]; evaluation only walks the JSON, borrowing strings from it.
//!
//! Every value is a string: JSON strings as they are, numbers and booleans as their JSON
//! text (`201`, `true`), objects and arrays as compact JSON with keys in the event's order, as
//! the plugin prints them (serde_json's `preserve_order` feature). A JSON `null` counts as
//! absent.
//!
//! Deliberate differences from the k8saudit plugin (0.18.0):
//! - `ka.req.pod.*` / `ka.req.container.*` / `ka.req.volume.*` read the pod spec of a bare Pod
//!   (`requestObject.spec`) *and* of pod templates, chosen by `requestObject.kind` (or, for a
//!   patch without `kind`, by `objectRef.resource`): Deployment, DaemonSet, StatefulSet,
//!   ReplicaSet, ReplicationController, Job → `spec.template.spec`; CronJob →
//!   `spec.jobTemplate.spec.template.spec`; PodTemplate → `template.spec`.
//! - `*.image.repository` strips the tag only after the last `/` (the plugin cuts at the first
//!   `:`, which breaks `registry:5000/img`), and a `@digest`.
//! - `*.add_capabilities` yields one value per capability (the plugin yields each container's
//!   array as JSON text).
//! - `*.eff_run_as_user|group` fall back to the pod's `securityContext` (the plugin reads
//!   `spec.runAsUser`, which does not exist), then `0`.
//! - `ka.sourceips` reads `sourceIPs` (the plugin reads `requestObject.rules.sourceIPs`).
//! - `ka.req.binding.subject.has_name[x]` is `true`/`false` by whether a subject is named `x`
//!   (the plugin always says `true`).
//! - `ka.req.volume.hostpath[x]` is `true` when a hostPath volume is `x` or under `x/` (and, as
//!   in the plugin, when `x` ends with `*` and a path starts with the rest).
//! - `ka.cluster.name` comes from the enrichment's cluster, else the `cluster_name` annotation.
//! - `jevt.obj` is compact JSON, not indented; `jevt.rawtime` is absent when the event has no
//!   parseable timestamp.

use serde_json::Value;
use smallvec::SmallVec;
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};

use super::Text;
use crate::doc::{EnrichmentDoc, JsonDoc};

/// The values a field extracted from one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vals<'a> {
    Missing,
    One(Cow<'a, str>),
    /// A list field's values; empty counts as missing.
    Many(Vec<Cow<'a, str>>),
}

/// A static path's address and length: the same field always passes the same slice.
type PathKey = (usize, usize);

/// Values already worked out for one event, by key: a handful per event, so a list searched
/// in order beats hashing.
struct Memo<K, V>(RefCell<SmallVec<[(K, V); 16]>>);

impl<K: PartialEq, V: Clone> Memo<K, V> {
    /// Room in place for what one event's candidate rules usually read (about a dozen paths
    /// and a dozen macros): no allocation per event unless an event reads more.
    fn new() -> Self {
        Memo(RefCell::new(SmallVec::new()))
    }

    /// The value for `key`: `work()` the first time, the kept value after.
    fn get_or(&self, key: K, work: impl FnOnce() -> V) -> V {
        if let Some((_, v)) = self.0.borrow().iter().find(|(k, _)| *k == key) {
            return v.clone();
        }
        // Not borrowed while `work` runs: it may read other keys (a macro inside a macro).
        let v = work();
        self.0.borrow_mut().push((key, v.clone()));
        v
    }
}

/// Macros whose every check reads one plain event field (in the built-in pack: the
/// offensive-tool user agents, health and discovery URIs, system identities, alert stages):
/// by node address, that field's path. Their result is a function
/// of the field's text, so a batch can keep it ([`BatchMemo`]).
pub(crate) type SingleFieldMacros = HashMap<usize, &'static [&'static str]>;

/// What single-field macros gave for the texts already seen in one batch: a batch's events
/// come from a few user agents and identities, and the offensive-tool macro alone ran seven
/// substring searches over every event's user agent. Bounded: a batch of all-different
/// texts evaluates as it would without it. Only valid with the [`RuleSet`] it was used with
/// (keys are that set's node addresses).
///
/// [`RuleSet`]: super::RuleSet
#[derive(Debug, Default)]
pub struct BatchMemo {
    /// By node address, then by the field's text.
    results: RefCell<HashMap<usize, HashMap<Box<str>, bool>>>,
    entries: std::cell::Cell<usize>,
    /// The address of the rule set's macro table the results belong to.
    owner: std::cell::Cell<usize>,
}

type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

impl BatchMemo {
    const MAX_ENTRIES: usize = 4096;
    /// Longer texts are evaluated every time rather than kept.
    const MAX_TEXT_BYTES: usize = 1024;

    pub fn new() -> Self {
        BatchMemo::default()
    }

    /// Ties the memo to the macro table `macros`; results kept for another table are
    /// dropped (a memo handed to a second rule set must not answer with the first's).
    pub(crate) fn bind(&self, macros: &SingleFieldMacros) {
        let owner = macros as *const SingleFieldMacros as usize;
        if self.owner.replace(owner) != owner {
            self.results.borrow_mut().clear();
            self.entries.set(0);
        }
    }

    /// How many results are kept.
    pub fn len(&self) -> usize {
        self.entries.get()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A batch's memo and the rule set's single-field macros, for [`Ctx::in_batch`].
#[derive(Clone, Copy)]
pub(crate) struct BatchLink<'a> {
    pub memo: &'a BatchMemo,
    pub macros: &'a SingleFieldMacros,
}

/// One event being evaluated; caches the pod spec lookup and the path fields read.
pub struct Ctx<'a> {
    pub event: &'a dyn JsonDoc,
    pub enrichment: Option<&'a dyn EnrichmentDoc>,
    pod_spec: OnceCell<Option<&'a Value>>,
    /// Path fields already read for this event, by the address of their static path: the
    /// rules read `ka.stage` and `ka.user.name` a dozen times per event between them
    /// (through shared macros).
    paths: Memo<PathKey, Option<Cow<'a, str>>>,
    /// Shared (macro) conditions already evaluated for this event, by node address: the
    /// candidate rules of one event name the same macros (`eaw_kevt` in nearly all).
    shared: Memo<usize, bool>,
    batch: Option<BatchLink<'a>>,
}

impl<'a> Ctx<'a> {
    pub fn new(event: &'a dyn JsonDoc, enrichment: Option<&'a dyn EnrichmentDoc>) -> Self {
        Ctx {
            event,
            enrichment,
            pod_spec: OnceCell::new(),
            paths: Memo::new(),
            shared: Memo::new(),
            batch: None,
        }
    }

    /// As [`Ctx::new`], for an event of a batch whose single-field macro results are kept
    /// in `link.memo`.
    pub(crate) fn in_batch(
        event: &'a dyn JsonDoc,
        enrichment: Option<&'a dyn EnrichmentDoc>,
        link: BatchLink<'a>,
    ) -> Self {
        Ctx {
            batch: Some(link),
            ..Ctx::new(event, enrichment)
        }
    }

    /// The shared condition at `node` for this event: from the batch's memo when `node`
    /// reads a single field whose text an earlier event of the batch had, else `eval()`.
    pub fn across_batch(&self, node: usize, eval: impl FnOnce() -> bool) -> bool {
        let Some(link) = self.batch else {
            return eval();
        };
        let Some(path) = link.macros.get(&node) else {
            return eval();
        };
        let Some(text) = self
            .path_text(path)
            .filter(|t| t.len() <= BatchMemo::MAX_TEXT_BYTES)
        else {
            return eval();
        };
        let known = link
            .memo
            .results
            .borrow()
            .get(&node)
            .and_then(|by_text| by_text.get(text.as_ref()).copied());
        if let Some(known) = known {
            return known;
        }
        // Not borrowed while `eval` runs: it may reach another single-field macro.
        let result = eval();
        let memo = link.memo;
        if memo.entries.get() < BatchMemo::MAX_ENTRIES {
            let mut results = memo.results.borrow_mut();
            let by_text = results.entry(node).or_default();
            if by_text.insert(text.as_ref().into(), result).is_none() {
                memo.entries.set(memo.entries.get() + 1);
            }
        }
        result
    }

    /// The value of the shared condition at `node` for this event: `eval()` the first time.
    pub fn shared(&self, node: usize, eval: impl FnOnce() -> bool) -> bool {
        self.shared.get_or(node, eval)
    }

    /// The text at a static path, read from the event once per context.
    fn path_text(&self, path: &'static [&'static str]) -> Option<Cow<'a, str>> {
        let key = (path.as_ptr() as usize, path.len());
        self.paths.get_or(key, || self.event.text_at(path))
    }

    fn pod_spec(&self) -> Option<&'a Value> {
        *self.pod_spec.get_or_init(|| pod_spec_of(self.event))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ArgKind {
    None,
    /// `field[N]`, optional
    Index,
    /// `field[key]`, required
    Key,
    /// `field[key]`, optional
    OptKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CList {
    Containers,
    Init,
    Ephemeral,
}

impl CList {
    fn key(self) -> &'static str {
        match self {
            CList::Containers => "containers",
            CList::Init => "initContainers",
            CList::Ephemeral => "ephemeralContainers",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CSub {
    Args,
    Command,
    Name,
    Image,
    ImageRepo,
    HostPort,
    /// A `securityContext` key, values skipped where unset.
    Sc(&'static str),
    EffRunAs(&'static str),
    AddCaps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A scalar at a path of the event.
    Path(&'static [&'static str]),
    /// The elements of an array at a path of the event (index argument applies).
    PathList(&'static [&'static str]),
    /// A list field whose one value is the whole JSON at a path (the plugin does not split it;
    /// an index argument is accepted and, as in the plugin, ignored).
    PathWhole(&'static [&'static str]),
    UriParam,
    TargetPodName,
    SubjectNames(&'static str, bool),
    SubjectHasName,
    RoleRules(&'static str),
    /// A scalar under the pod spec.
    Pod(&'static [&'static str]),
    PodList(&'static [&'static str]),
    Container(CList, CSub),
    ContainerImage,
    ContainerImageRepo,
    ContainerPrivileged,
    VolumesHostPath,
    VolumeHostPathKey,
    FlexDriver,
    VolumeType,
    ClusterName,
    JevtValue,
    JevtObj,
    JevtRawtime,
    Enrich(&'static str),
    AllImageRepos,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Arg {
    None,
    Index(usize),
    Key(Text),
}

/// A resolved field: what to extract and with which argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub(super) display: Text,
    pub(super) kind: Kind,
    pub(super) list: bool,
    pub(super) arg: Arg,
    /// `jevt.value[key]`'s key as a JSON pointer (with its leading `/`), built once.
    pub(super) pointer: Text,
}

fn lookup(name: &str) -> Option<(Kind, bool, ArgKind)> {
    use ArgKind as A;
    use Kind::*;
    for (prefix, list) in [
        ("ka.req.pod.containers.", CList::Containers),
        ("ka.req.pod.initContainers.", CList::Init),
        ("ka.req.pod.ephemeralContainers.", CList::Ephemeral),
    ] {
        if let Some(sub) = name.strip_prefix(prefix) {
            let sub = match sub {
                "args" => CSub::Args,
                "command" => CSub::Command,
                "name" => CSub::Name,
                "image" => CSub::Image,
                "image.repository" => CSub::ImageRepo,
                "host_port" => CSub::HostPort,
                "privileged" => CSub::Sc("privileged"),
                "allow_privilege_escalation" => CSub::Sc("allowPrivilegeEscalation"),
                "read_only_fs" => CSub::Sc("readOnlyRootFilesystem"),
                "run_as_user" => CSub::Sc("runAsUser"),
                "run_as_group" => CSub::Sc("runAsGroup"),
                "proc_mount" => CSub::Sc("procMount"),
                "eff_run_as_user" => CSub::EffRunAs("runAsUser"),
                "eff_run_as_group" => CSub::EffRunAs("runAsGroup"),
                "add_capabilities" => CSub::AddCaps,
                _ => return None,
            };
            return Some((Container(list, sub), true, A::Index));
        }
    }
    let scalar = |k| Some((k, false, A::None));
    match name {
        "ka.auditid" => scalar(Path(&["auditID"])),
        "ka.stage" => scalar(Path(&["stage"])),
        "ka.auth.decision" => scalar(Path(&["annotations", "authorization.k8s.io/decision"])),
        "ka.auth.reason" => scalar(Path(&["annotations", "authorization.k8s.io/reason"])),
        "ka.auth.openshift.decision" => scalar(Path(&[
            "annotations",
            "authentication.openshift.io/decision",
        ])),
        "ka.auth.openshift.username" => scalar(Path(&[
            "annotations",
            "authentication.openshift.io/username",
        ])),
        "ka.validations.admission.policy.failure" => scalar(Path(&[
            "annotations",
            "validation.policy.admission.k8s.io/validation_failure",
        ])),
        "ka.security.pod.violations" => scalar(Path(&[
            "annotations",
            "pod-security.kubernetes.io/audit-violations",
        ])),
        "ka.user.name" => scalar(Path(&["user", "username"])),
        "ka.user.groups" => Some((PathList(&["user", "groups"]), true, A::None)),
        "ka.impuser.name" => scalar(Path(&["impersonatedUser", "username"])),
        "ka.verb" => scalar(Path(&["verb"])),
        "ka.uri" => scalar(Path(&["requestURI"])),
        "ka.uri.param" => Some((UriParam, false, A::Key)),
        "ka.target.name" => scalar(Path(&["objectRef", "name"])),
        "ka.target.namespace" => scalar(Path(&["objectRef", "namespace"])),
        "ka.target.resource" => scalar(Path(&["objectRef", "resource"])),
        "ka.target.subresource" => scalar(Path(&["objectRef", "subresource"])),
        "ka.target.pod.name" => scalar(TargetPodName),
        "ka.req.binding.subjects" => {
            Some((PathList(&["requestObject", "subjects"]), true, A::None))
        }
        "ka.req.binding.subjects.user_names" => Some((SubjectNames("User", false), true, A::None)),
        "ka.req.binding.subjects.serviceaccount_names" => {
            Some((SubjectNames("ServiceAccount", false), true, A::None))
        }
        "ka.req.binding.subjects.serviceaccount_ns_names" => {
            Some((SubjectNames("ServiceAccount", true), true, A::None))
        }
        "ka.req.binding.subjects.group_names" => {
            Some((SubjectNames("Group", false), true, A::None))
        }
        "ka.req.binding.role" => scalar(Path(&["requestObject", "roleRef", "name"])),
        "ka.req.binding.subject.has_name" => Some((SubjectHasName, false, A::Key)),
        "ka.req.configmap.name" => scalar(Path(&["objectRef", "name"])),
        "ka.req.configmap.obj" => scalar(Path(&["requestObject", "data"])),
        "ka.req.container.image" => scalar(ContainerImage),
        "ka.req.container.image.repository" => scalar(ContainerImageRepo),
        "ka.req.pod.host_ipc" => scalar(Pod(&["hostIPC"])),
        "ka.req.pod.host_network" | "ka.req.container.host_network" => {
            scalar(Pod(&["hostNetwork"]))
        }
        "ka.req.pod.host_pid" => scalar(Pod(&["hostPID"])),
        "ka.req.container.privileged" => scalar(ContainerPrivileged),
        "ka.req.pod.run_as_user" => scalar(Pod(&["securityContext", "runAsUser"])),
        "ka.req.pod.run_as_group" => scalar(Pod(&["securityContext", "runAsGroup"])),
        "ka.req.pod.fs_group" => scalar(Pod(&["securityContext", "fsGroup"])),
        "ka.req.pod.supplemental_groups" => Some((
            PodList(&["securityContext", "supplementalGroups"]),
            true,
            A::None,
        )),
        "ka.req.role.rules" => Some((PathList(&["requestObject", "rules"]), true, A::None)),
        "ka.req.role.rules.apiGroups" => Some((RoleRules("apiGroups"), true, A::Index)),
        "ka.req.role.rules.nonResourceURLs" => Some((RoleRules("nonResourceURLs"), true, A::Index)),
        "ka.req.role.rules.verbs" => Some((RoleRules("verbs"), true, A::Index)),
        "ka.req.role.rules.resources" => Some((RoleRules("resources"), true, A::Index)),
        "ka.req.service.type" => scalar(Path(&["requestObject", "spec", "type"])),
        // The plugin yields the whole `ports` array as one JSON value, index or not.
        "ka.req.service.ports" => Some((
            PathWhole(&["requestObject", "spec", "ports"]),
            true,
            A::Index,
        )),
        "ka.req.pod.volumes.hostpath" => Some((VolumesHostPath, true, A::Index)),
        "ka.req.volume.hostpath" => Some((VolumeHostPathKey, false, A::Key)),
        "ka.req.pod.volumes.flexvolume_driver" => Some((FlexDriver, true, A::Index)),
        "ka.req.pod.volumes.volume_type" => Some((VolumeType, true, A::Index)),
        "ka.resp.name" => scalar(Path(&["responseObject", "metadata", "name"])),
        "ka.response.code" => scalar(Path(&["responseStatus", "code"])),
        "ka.response.reason" => scalar(Path(&["responseStatus", "reason"])),
        "ka.useragent" => scalar(Path(&["userAgent"])),
        "ka.sourceips" => Some((PathList(&["sourceIPs"]), true, A::Index)),
        "ka.cluster.name" => scalar(ClusterName),
        "jevt.value" | "json.value" => Some((JevtValue, false, A::OptKey)),
        "jevt.obj" | "json.obj" => scalar(JevtObj),
        "jevt.rawtime" | "json.rawtime" => scalar(JevtRawtime),
        "eaw.cluster" => scalar(Enrich("/cluster")),
        "eaw.account" => scalar(Enrich("/account")),
        "eaw.region" => scalar(Enrich("/region")),
        "eaw.identity.kind" => scalar(Enrich("/identity/kind")),
        "eaw.identity.arn" => scalar(Enrich("/identity/arn")),
        "eaw.identity.canonical_arn" => scalar(Enrich("/identity/canonicalArn")),
        "eaw.identity.session_name" => scalar(Enrich("/identity/sessionName")),
        "eaw.source_ip" => scalar(Enrich("/sourceIp")),
        "eaw.source_ip.class" => scalar(Enrich("/sourceIpClass")),
        // "true" when the source IP is in the embedded AWS ip-ranges snapshot (EC2 prefixes).
        "eaw.source_ip.aws" => scalar(Enrich("/sourceIpAws")),
        // "true" when the source IP is in the configured trusted CIDRs (TRUSTED_CIDRS).
        "eaw.source_ip.trusted" => scalar(Enrich("/sourceIpTrusted")),
        // The name of the indicator list the source IP is on (e.g. "tor-exit"), if any.
        "eaw.source_ip.indicator" => scalar(Enrich("/sourceIpIndicator")),
        "eaw.exec.command" => scalar(Enrich("/exec/commandLine")),
        "eaw.decision" => scalar(Enrich("/decision")),
        "eaw.pod.image.repository" => Some((AllImageRepos, true, A::None)),
        _ => None,
    }
}

impl Field {
    /// Resolves `name` with its optional `[arg]`; the error says what is wrong.
    pub fn resolve(name: &str, arg: Option<&str>) -> Result<Field, String> {
        let Some((kind, list, arg_kind)) = lookup(name) else {
            return Err(format!("unknown field '{name}'"));
        };
        let arg = match (arg_kind, arg) {
            (ArgKind::None, None) => Arg::None,
            (ArgKind::None, Some(a)) => {
                return Err(format!("field '{name}' takes no argument (got '[{a}]')"));
            }
            (ArgKind::Index, None) => Arg::None,
            (ArgKind::Index, Some(a)) => match a.trim().parse::<usize>() {
                Ok(i) => Arg::Index(i),
                Err(_) => {
                    return Err(format!(
                        "field '{name}' takes a numeric index like '{name}[0]', got '[{a}]'"
                    ));
                }
            },
            (ArgKind::Key, None) => {
                return Err(format!(
                    "field '{name}' requires an argument, like '{name}[key]'"
                ));
            }
            (ArgKind::Key | ArgKind::OptKey, Some(a)) => Arg::Key(a.to_string().into()),
            (ArgKind::OptKey, None) => Arg::None,
        };
        let display = match &arg {
            Arg::None => name.to_string().into(),
            Arg::Index(i) => format!("{name}[{i}]").into(),
            Arg::Key(k) => format!("{name}[{k}]").into(),
        };
        let pointer = match (&kind, &arg) {
            (Kind::JevtValue, Arg::Key(k)) if k.starts_with('/') => k.clone(),
            (Kind::JevtValue, Arg::Key(k)) => format!("/{k}").into(),
            _ => Text::Borrowed(""),
        };
        Ok(Field {
            display,
            kind,
            list,
            arg,
            pointer,
        })
    }

    /// This field as a Rust expression, for the built-in pack `build.rs` writes out
    /// ([`super::codegen`]); `path` names a path's item (paths are shared: the rules memo
    /// a path's text per event by its address).
    pub(super) fn to_rust(&self, mut path: impl FnMut(&[&str]) -> String) -> String {
        use super::codegen::text;
        let kind = match self.kind {
            Kind::Path(p) => format!("Kind::Path(&{})", path(p)),
            Kind::PathList(p) => format!("Kind::PathList(&{})", path(p)),
            Kind::PathWhole(p) => format!("Kind::PathWhole(&{})", path(p)),
            Kind::Pod(p) => format!("Kind::Pod(&{})", path(p)),
            Kind::PodList(p) => format!("Kind::PodList(&{})", path(p)),
            Kind::SubjectNames(key, direct) => format!("Kind::SubjectNames({key:?}, {direct})"),
            Kind::RoleRules(key) => format!("Kind::RoleRules({key:?})"),
            Kind::Enrich(pointer) => format!("Kind::Enrich({pointer:?})"),
            Kind::Container(list, sub) => {
                let sub = match sub {
                    CSub::Sc(key) => format!("Sc({key:?})"),
                    CSub::EffRunAs(key) => format!("EffRunAs({key:?})"),
                    // The others carry nothing.
                    other => format!("{other:?}"),
                };
                format!("Kind::Container(CList::{list:?}, CSub::{sub})")
            }
            // The other kinds carry nothing: `Debug` writes the variant's name.
            other => format!("Kind::{other:?}"),
        };
        let arg = match &self.arg {
            Arg::None => "Arg::None".to_string(),
            Arg::Index(i) => format!("Arg::Index({i})"),
            Arg::Key(key) => format!("Arg::Key({})", text(key)),
        };
        format!(
            "Field {{ display: {}, kind: {kind}, list: {}, arg: {arg}, pointer: {} }}",
            text(&self.display),
            self.list,
            text(&self.pointer)
        )
    }

    /// The field as written, with its argument.
    pub fn name(&self) -> &str {
        &self.display
    }

    /// The name and argument [`Field::resolve`] makes this field from again.
    pub fn source(&self) -> (&str, Option<std::borrow::Cow<'_, str>>) {
        match &self.arg {
            Arg::None => (&self.display, None),
            // The display is `name[arg]`; names never hold a `[`.
            Arg::Index(i) => (self.base_name(), Some(i.to_string().into())),
            Arg::Key(k) => (self.base_name(), Some(k.as_ref().into())),
        }
    }

    fn base_name(&self) -> &str {
        self.display.split('[').next().unwrap_or_default()
    }

    /// The path of a plain scalar field (`ka.verb` → `["verb"]`): one JSON member read as is.
    pub fn plain_path(&self) -> Option<&'static [&'static str]> {
        match (self.kind, &self.arg, self.list) {
            (Kind::Path(p), Arg::None, false) => Some(p),
            _ => None,
        }
    }

    /// Whether the field yields a list of values.
    pub fn is_list(&self) -> bool {
        self.list
    }

    fn index(&self) -> Option<usize> {
        match self.arg {
            Arg::Index(i) => Some(i),
            _ => None,
        }
    }

    fn key(&self) -> &str {
        match &self.arg {
            Arg::Key(k) => k,
            _ => "",
        }
    }

    /// Extracts the field's values from one event.
    pub fn extract<'a>(&self, ctx: &Ctx<'a>) -> Vals<'a> {
        let ev = ctx.event;
        match self.kind {
            Kind::Path(p) => one(ctx.path_text(p)),
            Kind::PathList(p) => many(ev.texts_at(p, self.index())),
            Kind::PathWhole(p) => many(ev.text_at(p).map(|v| vec![v])),
            Kind::UriParam => one(ev
                .member("requestURI")
                .and_then(Value::as_str)
                .and_then(|u| uri_param(u, self.key()))),
            Kind::TargetPodName => {
                let res = ev.path(&["objectRef", "resource"]).and_then(Value::as_str);
                let sub = ev
                    .path(&["objectRef", "subresource"])
                    .and_then(Value::as_str);
                if res == Some("pods") && sub.is_none_or(str::is_empty) {
                    one(ev.text_at(&["responseObject", "metadata", "name"]))
                } else {
                    Vals::Missing
                }
            }
            Kind::SubjectNames(kind, with_ns) => {
                many(subjects(ev).map(|subs| subject_names(subs, kind, with_ns)))
            }
            Kind::SubjectHasName => match subjects(ev) {
                None => Vals::Missing,
                Some(subs) => {
                    let key = self.key();
                    let has = subs
                        .iter()
                        .any(|s| s.get("name").and_then(Value::as_str) == Some(key));
                    bool_val(has)
                }
            },
            Kind::RoleRules(key) => many(
                ev.path(&["requestObject", "rules"])
                    .and_then(Value::as_array)
                    .map(|rules| {
                        pick(rules, self.index())
                            .filter_map(|r| r.get(key).and_then(Value::as_array))
                            .flatten()
                            .filter_map(text)
                            .collect()
                    }),
            ),
            Kind::Pod(p) => one(ctx.pod_spec().and_then(|s| get(s, p)).and_then(text)),
            Kind::PodList(p) => many(
                ctx.pod_spec()
                    .and_then(|s| get(s, p))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(text).collect()),
            ),
            Kind::Container(list, sub) => many(
                containers(ctx.pod_spec(), list)
                    .map(|cs| container_values(ctx.pod_spec(), cs, self.index(), sub)),
            ),
            Kind::ContainerImage => one(first_container(ctx)
                .and_then(|c| c.get("image"))
                .and_then(text)),
            Kind::ContainerImageRepo => one(first_container(ctx)
                .and_then(|c| c.get("image"))
                .and_then(Value::as_str)
                .map(|i| Cow::Borrowed(image_repository(i)))),
            Kind::ContainerPrivileged => match containers(ctx.pod_spec(), CList::Containers) {
                None => Vals::Missing,
                Some(cs) => bool_val(cs.iter().any(|c| {
                    get(c, &["securityContext", "privileged"]).and_then(Value::as_bool)
                        == Some(true)
                })),
            },
            Kind::VolumesHostPath => many(volumes(ctx).map(|vs| {
                pick(vs, self.index())
                    .filter_map(|v| get(v, &["hostPath", "path"]))
                    .filter_map(text)
                    .collect()
            })),
            Kind::VolumeHostPathKey => match volumes(ctx) {
                None => Vals::Missing,
                Some(vs) => {
                    let key = self.key();
                    bool_val(
                        vs.iter()
                            .filter_map(|v| get(v, &["hostPath", "path"]).and_then(Value::as_str))
                            .any(|p| hostpath_matches(p, key)),
                    )
                }
            },
            Kind::FlexDriver => many(volumes(ctx).map(|vs| {
                pick(vs, self.index())
                    .filter_map(|v| get(v, &["flexVolume", "driver"]))
                    .filter_map(text)
                    .collect()
            })),
            Kind::VolumeType => many(volumes(ctx).map(|vs| {
                pick(vs, self.index())
                    .filter_map(Value::as_object)
                    .flat_map(|o| o.keys().filter(|k| *k != "name"))
                    .map(|k| Cow::Borrowed(k.as_str()))
                    .collect()
            })),
            Kind::ClusterName => one(ctx
                .enrichment
                .and_then(|e| e.field("/cluster"))
                .or_else(|| ev.text_at(&["annotations", "cluster_name"]))),
            Kind::JevtValue => {
                let key = self.key();
                if key.is_empty() {
                    return Vals::One(ev.json_text());
                }
                one(ev.text_at_pointer(&self.pointer))
            }
            Kind::JevtObj => Vals::One(ev.json_text()),
            Kind::JevtRawtime => one(["stageTimestamp", "requestReceivedTimestamp", "timestamp"]
                .iter()
                .find_map(|k| ev.member(k).and_then(Value::as_str).and_then(rfc3339_nanos))
                .map(|n| Cow::Owned(n.to_string()))),
            Kind::Enrich(ptr) => one(ctx.enrichment.and_then(|e| e.field(ptr))),
            Kind::AllImageRepos => {
                let spec = ctx.pod_spec();
                let mut out = Vec::new();
                for list in [CList::Containers, CList::Init, CList::Ephemeral] {
                    for c in containers(spec, list).into_iter().flatten() {
                        if let Some(img) = c.get("image").and_then(Value::as_str) {
                            out.push(normalized_repository(img));
                        }
                    }
                }
                many(Some(out))
            }
        }
    }
}

fn one(v: Option<Cow<'_, str>>) -> Vals<'_> {
    match v {
        Some(s) => Vals::One(s),
        None => Vals::Missing,
    }
}

fn many(v: Option<Vec<Cow<'_, str>>>) -> Vals<'_> {
    match v {
        Some(vs) if !vs.is_empty() => Vals::Many(vs),
        _ => Vals::Missing,
    }
}

fn bool_val(b: bool) -> Vals<'static> {
    Vals::One(Cow::Borrowed(if b { "true" } else { "false" }))
}

fn get<'a>(mut v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    for k in path {
        v = v.get(*k)?;
    }
    Some(v)
}

/// A JSON value as a field string: strings borrowed, `null` absent, anything else as JSON text.
pub use crate::doc::value_text as text;

fn pick(a: &[Value], index: Option<usize>) -> std::slice::Iter<'_, Value> {
    match index {
        None => a.iter(),
        Some(i) => a.get(i..i + 1).unwrap_or(&[]).iter(),
    }
}

fn subjects(ev: &dyn JsonDoc) -> Option<&Vec<Value>> {
    ev.path(&["requestObject", "subjects"])
        .and_then(Value::as_array)
}

fn subject_names<'a>(subs: &'a [Value], kind: &str, with_ns: bool) -> Vec<Cow<'a, str>> {
    subs.iter()
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some(kind))
        .filter_map(|s| {
            let name = s.get("name").and_then(Value::as_str)?;
            if with_ns {
                let ns = s.get("namespace").and_then(Value::as_str)?;
                Some(Cow::Owned(format!("{ns}:{name}")))
            } else {
                Some(Cow::Borrowed(name))
            }
        })
        .collect()
}

/// The pod spec a request carries, for a bare Pod or any pod template.
fn pod_spec_of(ev: &dyn JsonDoc) -> Option<&Value> {
    // Read through the document so that a pipeline event builds the spec's tree only, not
    // the whole request body (its metadata, with managedFields, is often the larger part).
    const SPEC: &[&str] = &["requestObject", "spec"];
    const TEMPLATE: &[&str] = &["requestObject", "spec", "template", "spec"];
    const CRON: &[&str] = &[
        "requestObject",
        "spec",
        "jobTemplate",
        "spec",
        "template",
        "spec",
    ];
    const POD_TEMPLATE: &[&str] = &["requestObject", "template", "spec"];
    let path = match ev.path(&["requestObject", "kind"]).and_then(Value::as_str) {
        Some("Pod") => SPEC,
        Some(
            "Deployment"
            | "DaemonSet"
            | "StatefulSet"
            | "ReplicaSet"
            | "Job"
            | "ReplicationController",
        ) => TEMPLATE,
        Some("CronJob") => CRON,
        Some("PodTemplate") => POD_TEMPLATE,
        Some(_) => SPEC,
        None => match ev.path(&["objectRef", "resource"]).and_then(Value::as_str) {
            Some(
                "deployments"
                | "daemonsets"
                | "statefulsets"
                | "replicasets"
                | "jobs"
                | "replicationcontrollers",
            ) => TEMPLATE,
            Some("cronjobs") => CRON,
            Some("podtemplates") => POD_TEMPLATE,
            _ => SPEC,
        },
    };
    ev.path(path)
}

fn containers(spec: Option<&Value>, list: CList) -> Option<&Vec<Value>> {
    spec?.get(list.key())?.as_array()
}

fn first_container<'a>(ctx: &Ctx<'a>) -> Option<&'a Value> {
    containers(ctx.pod_spec(), CList::Containers)?.first()
}

fn volumes<'a>(ctx: &Ctx<'a>) -> Option<&'a Vec<Value>> {
    ctx.pod_spec()?.get("volumes")?.as_array()
}

fn container_values<'a>(
    spec: Option<&'a Value>,
    cs: &'a [Value],
    index: Option<usize>,
    sub: CSub,
) -> Vec<Cow<'a, str>> {
    let mut out = Vec::new();
    for c in pick(cs, index) {
        match sub {
            CSub::Name => out.extend(c.get("name").and_then(text)),
            CSub::Image => out.extend(c.get("image").and_then(text)),
            CSub::ImageRepo => out.extend(
                c.get("image")
                    .and_then(Value::as_str)
                    .map(|i| Cow::Borrowed(image_repository(i))),
            ),
            CSub::Args | CSub::Command => {
                let key = if sub == CSub::Args { "args" } else { "command" };
                if let Some(parts) = c.get(key).and_then(Value::as_array) {
                    let words: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
                    out.push(Cow::Owned(words.join(" ")));
                }
            }
            CSub::HostPort => {
                for p in c
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    out.extend(
                        p.get("hostPort")
                            .or_else(|| p.get("containerPort"))
                            .and_then(text),
                    );
                }
            }
            CSub::Sc(key) => out.extend(get(c, &["securityContext", key]).and_then(text)),
            CSub::EffRunAs(key) => {
                let v = get(c, &["securityContext", key])
                    .and_then(text)
                    .or_else(|| {
                        spec.and_then(|s| get(s, &["securityContext", key]))
                            .and_then(text)
                    })
                    .unwrap_or(Cow::Borrowed("0"));
                out.push(v);
            }
            CSub::AddCaps => out.extend(
                get(c, &["securityContext", "capabilities", "add"])
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(text),
            ),
        }
    }
    out
}

/// `registry/path/name:tag@sha256:…` → `registry/path/name`.
pub fn image_repository(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    match no_digest[last_slash..].find(':') {
        Some(colon) => &no_digest[..last_slash + colon],
        None => no_digest,
    }
}

/// The repository, with the region of an Amazon ECR registry host replaced by `*`:
/// `602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni` →
/// `602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni`.
fn normalized_repository(image: &str) -> Cow<'_, str> {
    let repo = image_repository(image);
    let Some((host, path)) = repo.split_once('/') else {
        return Cow::Borrowed(repo);
    };
    let parts: Vec<&str> = host.split('.').collect();
    let is_ecr = parts.len() >= 6
        && parts[0].len() == 12
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && parts[1] == "dkr"
        && (parts[2] == "ecr" || parts[2] == "ecr-fips")
        && parts[4] == "amazonaws";
    if !is_ecr {
        return Cow::Borrowed(repo);
    }
    let mut norm = parts.clone();
    norm[3] = "*";
    Cow::Owned(format!("{}/{path}", norm.join(".")))
}

fn hostpath_matches(path: &str, key: &str) -> bool {
    if let Some(prefix) = key.strip_suffix('*') {
        return path.starts_with(prefix);
    }
    let key = if key.len() > 1 {
        key.trim_end_matches('/')
    } else {
        key
    };
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    path == key
        || (key == "/" && path.starts_with('/'))
        || (path.starts_with(key) && path.as_bytes().get(key.len()) == Some(&b'/'))
}

/// The first value of query parameter `key` in a request URI, percent-decoded.
pub fn uri_param<'a>(uri: &'a str, key: &str) -> Option<Cow<'a, str>> {
    let query = uri.split_once('?')?.1;
    let query = query.split('#').next().unwrap_or(query);
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k) == key {
            return Some(percent_decode(v));
        }
    }
    None
}

/// `application/x-www-form-urlencoded` decoding: `%XX` and `+` for a space.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

pub use crate::timefmt::parse_rfc3339_nanos as rfc3339_nanos;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ex(name: &str, arg: Option<&str>, ev: &Value) -> Vals<'static> {
        let f = Field::resolve(name, arg).unwrap();
        let ctx = Ctx::new(ev, None);
        match f.extract(&ctx) {
            Vals::Missing => Vals::Missing,
            Vals::One(v) => Vals::One(Cow::Owned(v.into_owned())),
            Vals::Many(vs) => {
                Vals::Many(vs.into_iter().map(|v| Cow::Owned(v.into_owned())).collect())
            }
        }
    }

    fn s(v: &str) -> Vals<'static> {
        Vals::One(Cow::Owned(v.to_string()))
    }

    fn l(vs: &[&str]) -> Vals<'static> {
        Vals::Many(vs.iter().map(|v| Cow::Owned(v.to_string())).collect())
    }

    /// Every field FIELDS.md lists (k8saudit 0.18.0) resolves.
    #[test]
    fn every_k8saudit_field_resolves() {
        let mut names = vec![
            "ka.auditid",
            "ka.stage",
            "ka.auth.decision",
            "ka.auth.reason",
            "ka.auth.openshift.decision",
            "ka.validations.admission.policy.failure",
            "ka.security.pod.violations",
            "ka.auth.openshift.username",
            "ka.user.name",
            "ka.user.groups",
            "ka.impuser.name",
            "ka.verb",
            "ka.uri",
            "ka.target.name",
            "ka.target.namespace",
            "ka.target.resource",
            "ka.target.subresource",
            "ka.target.pod.name",
            "ka.req.binding.subjects",
            "ka.req.binding.subjects.user_names",
            "ka.req.binding.subjects.serviceaccount_names",
            "ka.req.binding.subjects.serviceaccount_ns_names",
            "ka.req.binding.subjects.group_names",
            "ka.req.binding.role",
            "ka.req.configmap.name",
            "ka.req.configmap.obj",
            "ka.req.container.image",
            "ka.req.container.image.repository",
            "ka.req.pod.host_ipc",
            "ka.req.pod.host_network",
            "ka.req.container.host_network",
            "ka.req.pod.host_pid",
            "ka.req.container.privileged",
            "ka.req.pod.run_as_user",
            "ka.req.pod.run_as_group",
            "ka.req.role.rules",
            "ka.req.role.rules.apiGroups",
            "ka.req.role.rules.nonResourceURLs",
            "ka.req.role.rules.verbs",
            "ka.req.role.rules.resources",
            "ka.req.pod.fs_group",
            "ka.req.pod.supplemental_groups",
            "ka.req.service.type",
            "ka.req.service.ports",
            "ka.req.pod.volumes.hostpath",
            "ka.req.pod.volumes.flexvolume_driver",
            "ka.req.pod.volumes.volume_type",
            "ka.resp.name",
            "ka.response.code",
            "ka.response.reason",
            "ka.useragent",
            "ka.sourceips",
            "ka.cluster.name",
        ];
        let subs = [
            "name",
            "image",
            "image.repository",
            "command",
            "args",
            "privileged",
            "allow_privilege_escalation",
            "read_only_fs",
            "run_as_user",
            "eff_run_as_user",
            "run_as_group",
            "eff_run_as_group",
            "proc_mount",
            "add_capabilities",
            "host_port",
        ];
        let mut owned = vec![];
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            for sub in subs {
                owned.push(format!("ka.req.pod.{list}.{sub}"));
            }
        }
        names.extend(owned.iter().map(String::as_str));
        for n in names {
            Field::resolve(n, None).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
        for (n, a) in [
            ("ka.uri.param", "command"),
            ("ka.req.binding.subject.has_name", "bob"),
            ("ka.req.volume.hostpath", "/etc"),
            ("jevt.value", "/verb"),
            ("json.value", "/verb"),
            ("ka.req.pod.containers.image", "0"),
        ] {
            Field::resolve(n, Some(a)).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
        assert!(Field::resolve("ka.uri.param", None).is_err());
        assert!(Field::resolve("ka.verb", Some("x")).is_err());
        assert!(Field::resolve("ka.req.pod.containers.image", Some("x")).is_err());
        assert!(Field::resolve("ka.nope", None).is_err());
    }

    fn pod_event(kind: &str, spec: Value) -> Value {
        let ro = match kind {
            "Pod" => json!({"kind": "Pod", "spec": spec}),
            "CronJob" => {
                json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}})
            }
            k => json!({"kind": k, "spec": {"template": {"spec": spec}}}),
        };
        json!({"auditID": "x", "requestObject": ro})
    }

    #[test]
    fn pod_fields_read_pods_and_templates() {
        let spec = json!({
            "hostPID": true,
            "containers": [
                {"name": "a", "image": "reg:5000/team/app:1.2@sha256:abc", "securityContext": {"privileged": true, "capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}},
                {"name": "b", "image": "busybox", "command": ["sh", "-c"], "ports": [{"containerPort": 80}, {"hostPort": 8080, "containerPort": 81}]}
            ],
            "volumes": [{"name": "h", "hostPath": {"path": "/etc/kubernetes/pki"}}, {"name": "e", "emptyDir": {}}]
        });
        for kind in [
            "Pod",
            "Deployment",
            "DaemonSet",
            "StatefulSet",
            "ReplicaSet",
            "Job",
            "CronJob",
        ] {
            let ev = pod_event(kind, spec.clone());
            assert_eq!(ex("ka.req.pod.host_pid", None, &ev), s("true"), "{kind}");
            assert_eq!(
                ex("ka.req.pod.containers.privileged", None, &ev),
                l(&["true"])
            );
            assert_eq!(
                ex("ka.req.pod.containers.image.repository", None, &ev),
                l(&["reg:5000/team/app", "busybox"])
            );
            assert_eq!(
                ex("ka.req.pod.containers.image", Some("1"), &ev),
                l(&["busybox"])
            );
            assert_eq!(
                ex("ka.req.pod.containers.add_capabilities", None, &ev),
                l(&["NET_ADMIN", "SYS_TIME"])
            );
            assert_eq!(
                ex("ka.req.pod.containers.command", None, &ev),
                l(&["sh -c"])
            );
            assert_eq!(
                ex("ka.req.pod.containers.host_port", None, &ev),
                l(&["80", "8080"])
            );
            assert_eq!(
                ex("ka.req.pod.containers.eff_run_as_user", None, &ev),
                l(&["0", "0"])
            );
            assert_eq!(ex("ka.req.container.privileged", None, &ev), s("true"));
            assert_eq!(
                ex("ka.req.container.image.repository", None, &ev),
                s("reg:5000/team/app")
            );
            assert_eq!(
                ex("ka.req.pod.volumes.hostpath", None, &ev),
                l(&["/etc/kubernetes/pki"])
            );
            assert_eq!(ex("ka.req.volume.hostpath", Some("/etc"), &ev), s("true"));
            assert_eq!(ex("ka.req.volume.hostpath", Some("/et"), &ev), s("false"));
            assert_eq!(ex("ka.req.volume.hostpath", Some("/et*"), &ev), s("true"));
            assert_eq!(
                ex("ka.req.pod.volumes.volume_type", None, &ev),
                l(&["hostPath", "emptyDir"])
            );
            assert_eq!(
                ex("ka.req.pod.initContainers.image", None, &ev),
                Vals::Missing
            );
        }
    }

    #[test]
    fn patch_without_kind_uses_the_resource() {
        let ev = json!({"auditID": "x", "objectRef": {"resource": "daemonsets"},
            "requestObject": {"spec": {"template": {"spec": {"hostPID": true}}}}});
        assert_eq!(ex("ka.req.pod.host_pid", None, &ev), s("true"));
    }

    #[test]
    fn ecr_region_is_normalised() {
        assert_eq!(
            normalized_repository(
                "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.18.1-eksbuild.1"
            ),
            "602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni"
        );
        assert_eq!(
            normalized_repository("docker.io/library/nginx:1"),
            "docker.io/library/nginx"
        );
        assert_eq!(image_repository("nginx"), "nginx");
        assert_eq!(image_repository("nginx@sha256:aa"), "nginx");
    }

    #[test]
    fn event_level_fields() {
        let ev = json!({
            "auditID": "a1", "verb": "create", "stage": "ResponseComplete",
            "requestURI": "/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=cat%20%2Fetc%2Fshadow&container=c",
            "user": {"username": "alice", "groups": ["system:masters", "system:authenticated"]},
            "sourceIPs": ["1.2.3.4", "10.0.0.1"],
            "responseStatus": {"code": 201},
            "annotations": {"authorization.k8s.io/decision": "allow"},
            "objectRef": {"resource": "pods", "name": "p", "namespace": "default", "subresource": "exec"},
            "requestObject": {"roleRef": {"name": "admin"}, "subjects": [
                {"kind": "User", "name": "bob"}, {"kind": "ServiceAccount", "name": "default", "namespace": "ns1"},
                {"kind": "Group", "name": "system:masters"}],
                "rules": [{"verbs": ["get", "list"], "resources": ["pods"]}, {"verbs": ["*"], "resources": ["secrets"]}]},
            "stageTimestamp": "2024-05-01T12:00:00.123456Z"
        });
        assert_eq!(ex("ka.response.code", None, &ev), s("201"));
        assert_eq!(ex("ka.uri.param", Some("command"), &ev), s("sh"));
        assert_eq!(ex("ka.uri.param", Some("container"), &ev), s("c"));
        assert_eq!(ex("ka.uri.param", Some("nope"), &ev), Vals::Missing);
        assert_eq!(
            ex("ka.user.groups", None, &ev),
            l(&["system:masters", "system:authenticated"])
        );
        assert_eq!(ex("ka.sourceips", Some("1"), &ev), l(&["10.0.0.1"]));
        assert_eq!(
            ex("ka.req.binding.subjects.user_names", None, &ev),
            l(&["bob"])
        );
        assert_eq!(
            ex("ka.req.binding.subjects.serviceaccount_ns_names", None, &ev),
            l(&["ns1:default"])
        );
        assert_eq!(
            ex("ka.req.binding.subjects.group_names", None, &ev),
            l(&["system:masters"])
        );
        assert_eq!(
            ex("ka.req.binding.subject.has_name", Some("bob"), &ev),
            s("true")
        );
        assert_eq!(
            ex("ka.req.binding.subject.has_name", Some("eve"), &ev),
            s("false")
        );
        assert_eq!(ex("ka.req.binding.role", None, &ev), s("admin"));
        assert_eq!(
            ex("ka.req.role.rules.verbs", None, &ev),
            l(&["get", "list", "*"])
        );
        assert_eq!(
            ex("ka.req.role.rules.resources", Some("1"), &ev),
            l(&["secrets"])
        );
        assert_eq!(
            ex("jevt.value", Some("/requestObject/roleRef/name"), &ev),
            s("admin")
        );
        assert_eq!(ex("jevt.value", Some("/sourceIPs/0"), &ev), s("1.2.3.4"));
        assert_eq!(
            ex("jevt.value", Some("/responseStatus"), &ev),
            s("{\"code\":201}")
        );
        assert_eq!(ex("jevt.rawtime", None, &ev), s("1714564800123456000"));
        assert_eq!(ex("ka.target.pod.name", None, &ev), Vals::Missing);
        assert_eq!(ex("ka.cluster.name", None, &ev), Vals::Missing);
    }

    /// As in the k8saudit plugin: one value, the whole array, whatever the index.
    #[test]
    fn service_ports_are_one_json_value() {
        let ev = json!({"auditID": "a", "requestObject": {"spec": {"type": "NodePort", "ports": [
            {"name": "http", "port": 80, "nodePort": 30080}, {"name": "https", "port": 443}]}}});
        let whole = r#"[{"name":"http","port":80,"nodePort":30080},{"name":"https","port":443}]"#;
        assert_eq!(ex("ka.req.service.ports", None, &ev), l(&[whole]));
        assert_eq!(ex("ka.req.service.ports", Some("1"), &ev), l(&[whole]));
        assert_eq!(
            ex("ka.req.service.ports", None, &json!({"auditID": "a"})),
            Vals::Missing
        );
    }

    /// Objects print with their keys in the event's order, as Falco prints them.
    #[test]
    fn objects_keep_their_key_order() {
        let ev: Value = serde_json::from_str(
            r#"{"auditID": "a", "requestObject": {"subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "bob"}]}}"#,
        )
        .unwrap();
        assert_eq!(
            ex("ka.req.binding.subjects", None, &ev),
            l(&[r#"{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bob"}"#])
        );
    }

    #[test]
    fn enrichment_fields() {
        let ev = json!({"auditID": "a"});
        let en = json!({"cluster": "prod", "identity": {"kind": "sso", "arn": "arn:x"}, "exec": {"commandLine": "cat /etc/shadow"}});
        let ctx = Ctx::new(&ev, Some(&en));
        let get = |n: &str| Field::resolve(n, None).unwrap().extract(&ctx);
        assert_eq!(get("eaw.cluster"), Vals::One(Cow::Borrowed("prod")));
        assert_eq!(get("ka.cluster.name"), Vals::One(Cow::Borrowed("prod")));
        assert_eq!(get("eaw.identity.kind"), Vals::One(Cow::Borrowed("sso")));
        assert_eq!(
            get("eaw.exec.command"),
            Vals::One(Cow::Borrowed("cat /etc/shadow"))
        );
        assert_eq!(get("eaw.region"), Vals::Missing);
        let ctx = Ctx::new(&ev, None);
        assert_eq!(
            Field::resolve("eaw.cluster", None).unwrap().extract(&ctx),
            Vals::Missing
        );
    }

    #[test]
    fn timestamps_and_decoding() {
        assert_eq!(rfc3339_nanos("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_nanos("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(
            rfc3339_nanos("2000-03-01T00:00:01.5Z"),
            Some(951_868_801_500_000_000)
        );
        assert_eq!(rfc3339_nanos("garbage"), None);
        assert_eq!(percent_decode("a%2Fb+c%zz"), "a/b c%zz");
        assert!(matches!(percent_decode("plain"), Cow::Borrowed(_)));
    }
}
