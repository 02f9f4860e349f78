//! Stage 2: one CloudWatch log message → one Kubernetes audit event (v1 or v1beta1).
//!
//! Parsing indexes the event's top-level members (key and byte span) in one pass that
//! builds no tree; a member is parsed into a `serde_json::Value` the first time the filter,
//! enrichment or a rule reads it. Most events are never parsed further than `verb`, `user`,
//! `objectRef` and a few more small members: `requestObject`/`responseObject` — a third of
//! the bytes — are only read by the rules that look into bodies. The archive line is the
//! original text with the enrichment spliced in ([`AuditEvent::write_archive_line`]), so
//! every field the API server wrote — including ones this version does not know — reaches
//! the archive byte for byte.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::ops::Range;

use serde::Serialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::doc::JsonDoc;

/// A message longer than this is not parsed (CloudWatch caps events at 1 MB; this is
/// a bound against a misconfigured source, not a normal case).
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("message is {0} bytes, over the {MAX_MESSAGE_BYTES}-byte bound")]
    TooLarge(usize),
    #[error("not valid JSON (EKS truncates oversized entries): {0}")]
    InvalidJson(String),
    #[error("JSON is not an object")]
    NotAnObject,
    #[error("not a Kubernetes audit event (apiVersion {0:?}, kind {1:?})")]
    NotAuditEvent(String, String),
}

#[derive(Debug, Clone, PartialEq)]
enum MemberKey {
    /// The key's bytes in the text (no escapes).
    Span(Range<usize>),
    /// A key written with escapes, unescaped.
    Owned(Box<str>),
}

#[derive(Debug, Clone, PartialEq)]
struct Member {
    key: MemberKey,
    value: Range<usize>,
}

/// A parsed audit event: its text and an index of its top-level members. Accessors return
/// `""` for absent string fields so callers can compare without unwrapping.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    text: Cow<'a, str>,
    members: Vec<Member>,
    /// `members[i]` parsed on first use; `None` inside when it does not parse as a `Value`
    /// (a number out of range, nesting deeper than serde_json's limit).
    parsed: Vec<OnceCell<Option<Value>>>,
}

impl PartialEq for AuditEvent<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

/// Collects the members' spans; values are skipped (validated, not built).
struct IndexVisitor {
    base: usize,
}

impl<'de> Visitor<'de> for IndexVisitor {
    type Value = Vec<Member>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<Member>, A::Error> {
        let span = |s: &str| {
            let start = s.as_ptr() as usize - self.base;
            start..start + s.len()
        };
        let mut members = Vec::with_capacity(24);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: &'de RawValue = map.next_value()?;
            let key = match key {
                Cow::Borrowed(k) => MemberKey::Span(span(k)),
                Cow::Owned(k) => MemberKey::Owned(k.into_boxed_str()),
            };
            members.push(Member {
                key,
                value: span(value.get()),
            });
        }
        Ok(members)
    }
}

fn index(text: &str) -> Result<Vec<Member>, EventError> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(EventError::TooLarge(text.len()));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let visitor = IndexVisitor {
        base: text.as_ptr() as usize,
    };
    match de
        .deserialize_map(visitor)
        .and_then(|m| de.end().map(|_| m))
    {
        Ok(members) => Ok(members),
        Err(e) => {
            let object = text.trim_start().starts_with('{');
            if !object && serde_json::from_str::<de::IgnoredAny>(text).is_ok() {
                Err(EventError::NotAnObject)
            } else {
                Err(EventError::InvalidJson(e.to_string()))
            }
        }
    }
}

impl<'a> AuditEvent<'a> {
    /// Indexes `message` (borrowed) and checks it is an audit event.
    pub fn parse(message: &'a str) -> Result<AuditEvent<'a>, EventError> {
        let members = index(message)?;
        AuditEvent::checked(Cow::Borrowed(message), members)
    }

    fn checked(text: Cow<'a, str>, members: Vec<Member>) -> Result<AuditEvent<'a>, EventError> {
        let parsed = (0..members.len()).map(|_| OnceCell::new()).collect();
        let event = AuditEvent {
            text,
            members,
            parsed,
        };
        let api_version = event.str_at("/apiVersion");
        let kind = event.str_at("/kind");
        let audit_api = api_version.is_empty() || api_version.starts_with("audit.k8s.io/");
        let event_kind = kind.is_empty() || kind == "Event";
        if !audit_api || !event_kind {
            return Err(EventError::NotAuditEvent(api_version.into(), kind.into()));
        }
        Ok(event)
    }

    /// The whole text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The event as a `Value` tree (the general path: redaction, re-serialisation).
    pub fn to_value(&self) -> Result<Value, EventError> {
        serde_json::from_str(&self.text).map_err(|e| EventError::InvalidJson(e.to_string()))
    }

    fn key<'s>(&'s self, m: &'s Member) -> &'s str {
        match &m.key {
            MemberKey::Span(r) => &self.text[r.clone()],
            MemberKey::Owned(k) => k,
        }
    }

    /// Whether the event has a top-level member `key`.
    pub fn has_member(&self, key: &str) -> bool {
        self.members.iter().any(|m| self.key(m) == key)
    }

    /// The raw JSON text of the top-level member `key`.
    pub fn member_text(&self, key: &str) -> Option<&str> {
        let m = self.members.iter().rev().find(|m| self.key(m) == key)?;
        Some(&self.text[m.value.clone()])
    }

    pub fn str_at(&self, pointer: &str) -> &str {
        JsonDoc::pointer(self, pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    pub fn audit_id(&self) -> &str {
        self.str_at("/auditID")
    }
    pub fn stage(&self) -> &str {
        self.str_at("/stage")
    }
    pub fn verb(&self) -> &str {
        self.str_at("/verb")
    }
    pub fn username(&self) -> &str {
        self.str_at("/user/username")
    }
    pub fn request_uri(&self) -> &str {
        self.str_at("/requestURI")
    }
    pub fn resource(&self) -> &str {
        self.str_at("/objectRef/resource")
    }
    pub fn subresource(&self) -> &str {
        self.str_at("/objectRef/subresource")
    }
    pub fn namespace(&self) -> &str {
        self.str_at("/objectRef/namespace")
    }
    pub fn name(&self) -> &str {
        self.str_at("/objectRef/name")
    }
    pub fn user_agent(&self) -> &str {
        self.str_at("/userAgent")
    }
    pub fn response_code(&self) -> Option<i64> {
        JsonDoc::pointer(self, "/responseStatus/code").and_then(Value::as_i64)
    }

    /// When the event happened: `stageTimestamp` (v1), `timestamp` (v1beta1), else
    /// `requestReceivedTimestamp`.
    pub fn time(&self) -> &str {
        ["/stageTimestamp", "/timestamp", "/requestReceivedTimestamp"]
            .iter()
            .map(|p| self.str_at(p))
            .find(|s| !s.is_empty())
            .unwrap_or("")
    }

    /// The within-batch deduplication key: one request yields one event per stage.
    pub fn dedup_key(&self) -> Option<(String, String)> {
        let id = self.audit_id();
        (!id.is_empty()).then(|| (id.to_string(), self.stage().to_string()))
    }

    /// Appends the archived form of this event to `out`: its text with `"<key>":<enrichment>`
    /// added as the last member. Line breaks between tokens (the only place JSON allows them
    /// raw) become spaces, so the record stays one NDJSON line. An event that already has a
    /// `key` member (a re-scanned archive) is re-serialised with that member replaced (if its
    /// tree cannot be built, the member is appended and readers take the last).
    pub fn write_archive_line<T: Serialize>(&self, key: &str, enrichment: &T, out: &mut Vec<u8>) {
        if self.has_member(key)
            && let Ok(mut value) = self.to_value()
        {
            let en = serde_json::to_value(enrichment).expect("enrichment serialises");
            if let Value::Object(map) = &mut value {
                map.insert(key.to_string(), en);
            }
            serde_json::to_writer(&mut *out, &value).expect("in-memory serialise");
            return;
        }
        let text = self.text.trim();
        // An indexed object's text, trimmed, ends with its closing brace.
        let body = &text.as_bytes()[..text.len() - 1];
        let start = out.len();
        out.extend_from_slice(body);
        if memchr::memchr2(b'\n', b'\r', body).is_some() {
            for b in &mut out[start..] {
                if matches!(*b, b'\n' | b'\r') {
                    *b = b' ';
                }
            }
        }
        if !self.members.is_empty() {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        serde_json::to_writer(&mut *out, enrichment).expect("in-memory serialise");
        out.push(b'}');
    }
}

impl AuditEvent<'static> {
    /// Indexes an owned text (a re-serialised, redacted event).
    pub fn parse_owned(text: String) -> Result<AuditEvent<'static>, EventError> {
        let members = index(&text)?;
        AuditEvent::checked(Cow::Owned(text), members)
    }

    /// An event from a `Value` (tests, fixtures); panics if it is not an audit event object.
    pub fn from_value(value: &Value) -> AuditEvent<'static> {
        AuditEvent::parse_owned(value.to_string()).expect("an audit event object")
    }
}

impl JsonDoc for AuditEvent<'_> {
    fn member(&self, key: &str) -> Option<&Value> {
        let i = self.members.iter().rposition(|m| self.key(m) == key)?;
        self.parsed[i]
            .get_or_init(|| serde_json::from_str(&self.text[self.members[i].value.clone()]).ok())
            .as_ref()
    }

    /// Compact JSON as serde_json writes it, as for a `Value` event, so that `jevt.obj` gives
    /// a rule the same text whether the event came through the pipeline or a fixture (the
    /// original may have spaces or Go's `\u0026` escapes). No built-in rule reads it.
    fn json_text(&self) -> Cow<'_, str> {
        match self.to_value() {
            Ok(v) => Cow::Owned(v.to_string()),
            Err(_) => Cow::Borrowed(&self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_and_v1beta1() {
        let v1 = AuditEvent::parse(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","verb":"get","stageTimestamp":"2026-11-24T10:15:30.1Z"}"#,
        )
        .unwrap();
        assert_eq!(v1.audit_id(), "a");
        assert_eq!(v1.time(), "2026-11-24T10:15:30.1Z");
        assert_eq!(
            v1.dedup_key(),
            Some(("a".into(), "ResponseComplete".into()))
        );
        let beta = AuditEvent::parse(
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","auditID":"b","timestamp":"2019-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(beta.time(), "2019-01-01T00:00:00Z");
        assert_eq!(beta.namespace(), "");
    }

    #[test]
    fn rejects_what_is_not_an_audit_event() {
        let truncated =
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","requestObject":{"spec":{"contain"#;
        assert!(matches!(
            AuditEvent::parse(truncated),
            Err(EventError::InvalidJson(_))
        ));
        assert_eq!(AuditEvent::parse("[1]"), Err(EventError::NotAnObject));
        assert!(matches!(
            AuditEvent::parse(r#"{"kind":"Pod","apiVersion":"v1"}"#),
            Err(EventError::NotAuditEvent(..))
        ));
        let huge = format!("\"{}\"", "x".repeat(MAX_MESSAGE_BYTES));
        assert!(matches!(
            AuditEvent::parse(&huge),
            Err(EventError::TooLarge(_))
        ));
    }

    fn archived(text: &str) -> String {
        let ev = AuditEvent::parse(text).unwrap();
        let mut out = Vec::new();
        ev.write_archive_line("eaw", &serde_json::json!({"cluster": "c"}), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_archive_line_is_the_original_text_plus_the_enrichment() {
        let text =
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","note":"a \u0026 b"}"#;
        assert_eq!(
            archived(text),
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","note":"a \u0026 b","eaw":{"cluster":"c"}}"#
        );
        assert_eq!(archived("{}"), r#"{"eaw":{"cluster":"c"}}"#);
        assert_eq!(archived(" { } \n"), r#"{ "eaw":{"cluster":"c"}}"#);
        // Line breaks between tokens would split the NDJSON record.
        let line = archived("{\"verb\":\r\n \"get\",\n\"x\":[1,\n2]\n}\n");
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["x"], serde_json::json!([1, 2]));
        // A re-scanned archive: the old enrichment is replaced, not repeated.
        let again =
            archived(r#"{"verb":"get","eaw":{"cluster":"old"},"stage":"ResponseComplete"}"#);
        assert_eq!(
            again,
            r#"{"verb":"get","eaw":{"cluster":"c"},"stage":"ResponseComplete"}"#
        );
    }

    #[test]
    fn members_are_parsed_on_demand_and_the_last_duplicate_wins() {
        let ev = AuditEvent::parse(
            r#"{"verb":"get","objectRef":{"resource":"pods"},"verb":"delete","n":1e999,"k\u0065y":"v"}"#,
        )
        .unwrap();
        assert_eq!(ev.verb(), "delete");
        assert_eq!(ev.resource(), "pods");
        assert_eq!(ev.str_at("/key"), "v");
        // Out of range for a Value: the member reads as absent, the event stays usable.
        assert_eq!(JsonDoc::member(&ev, "n"), None);
        assert_eq!(ev.member_text("n"), Some("1e999"));
        assert!(ev.has_member("objectRef") && !ev.has_member("requestObject"));
        // jevt.obj sees compact JSON, as for a `Value` event.
        let spaced = AuditEvent::parse(r#"{"verb": "get", "note": "a\u0026b"}"#).unwrap();
        assert_eq!(spaced.json_text(), r#"{"verb":"get","note":"a&b"}"#);
        // Nesting far past serde_json's limit: indexing walks it without recursion, and the
        // member reads as absent instead of overflowing the stack.
        let deep = format!(
            r#"{{"verb":"get","requestObject":{}{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let ev = AuditEvent::parse(&deep).unwrap();
        assert_eq!(ev.verb(), "get");
        assert_eq!(JsonDoc::member(&ev, "requestObject"), None);
        assert!(ev.to_value().is_err());
        let owned = AuditEvent::from_value(&serde_json::json!({"auditID": "x", "stage": "s"}));
        assert_eq!(owned.dedup_key(), Some(("x".into(), "s".into())));
    }
}
