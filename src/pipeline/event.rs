//! Stage 2: one CloudWatch log message → one Kubernetes audit event (v1 or v1beta1).
//!
//! The event stays a `serde_json::Value` so that every field the API server wrote —
//! including ones this version does not know — reaches the archive unchanged.

use serde_json::Value;

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

/// A parsed audit event. Accessors return `""` for absent string fields so callers
/// can compare without unwrapping; the archive keeps the original JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub json: Value,
}

impl AuditEvent {
    pub fn parse(message: &str) -> Result<AuditEvent, EventError> {
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(EventError::TooLarge(message.len()));
        }
        let json: Value =
            serde_json::from_str(message).map_err(|e| EventError::InvalidJson(e.to_string()))?;
        if !json.is_object() {
            return Err(EventError::NotAnObject);
        }
        let api_version = json.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = json.get("kind").and_then(Value::as_str).unwrap_or("");
        let audit_api = api_version.is_empty() || api_version.starts_with("audit.k8s.io/");
        let event_kind = kind.is_empty() || kind == "Event";
        if !audit_api || !event_kind {
            return Err(EventError::NotAuditEvent(api_version.into(), kind.into()));
        }
        Ok(AuditEvent { json })
    }

    pub fn str_at(&self, pointer: &str) -> &str {
        self.json
            .pointer(pointer)
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
        self.json
            .pointer("/responseStatus/code")
            .and_then(Value::as_i64)
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
}
