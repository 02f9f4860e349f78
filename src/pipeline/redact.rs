//! Stage 5: secret material out before anything is archived, logged or alerted.
//!
//! Values are replaced by a marker carrying a short hash of the value, so an
//! investigator can tell that a secret changed (or that two events carry the same
//! token) without ever seeing it. Keys are kept: which secret keys a request set is
//! itself useful evidence.

use serde_json::{Map, Value};

use super::event::{AuditEvent, EventError};
use sha2::{Digest, Sha256};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `<redacted sha256:1a2b3c4d5e6f>`: the first 12 hex digits of a domain-separated
/// SHA-256 of the value (enough to correlate, far too short to be looked up).
pub fn marker(value: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"eks-audit-watch/redact\0");
    h.update(value.as_bytes());
    let d = h.finalize();
    // Written by hand: one allocation, not eight (a Secret's every value gets a marker).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(30);
    out.push_str("<redacted sha256:");
    for &b in &d[..6] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out.push('>');
    out
}

fn is_marker(s: &str) -> bool {
    s.starts_with("<redacted sha256:")
}

/// Substrings without which [`redact_event`] finds nothing to redact (see
/// [`may_need_redaction`]). A hit of the last two is only a candidate: its surroundings
/// decide ([`Trigger`]).
const REDACTION_TRIGGERS: &[(&str, Trigger)] = &[
    // sweep_credentials: bearer tokens (`Bearer`, `bearer`), JWTs, token query parameters
    ("earer", Trigger::Always),
    ("eyJ", Trigger::Always),
    ("token=", Trigger::Always),
    // redact_object: by the body's kind, as a JSON string token (`"Secret"`, `"SecretList"`,
    // `"TokenReview"`, `"TokenRequest"`; `imagePullSecrets` must not count)
    (r#""Secret"#, Trigger::Always),
    (r#""TokenRe"#, Trigger::Always),
    // redact_last_applied: an annotation (JSON inside a JSON string) with a `data` or
    // `stringData` member, `\"data\"` or `\"stringData\"` in the event's text (a hit is
    // checked for its start: `\"metadata\"` ends the same way and is in most annotations)
    (r#"ata\""#, Trigger::DataMember),
    // a \u escape that could spell any of the above
    (r"\u00", Trigger::Escape),
];

/// What a hit of a [`REDACTION_TRIGGERS`] substring means.
#[derive(Clone, Copy)]
enum Trigger {
    /// Redaction may be needed.
    Always,
    /// Only when the hit ends a `data` or `stringData` member name (`\"d` or `\"stringD`
    /// before it).
    DataMember,
    /// Only when the `\u00XY` escape spells a printable character other than `<`, `>`, `&`.
    Escape,
}

/// All triggers in one SIMD pass (aho-corasick's packed "Teddy" searcher, SSSE3/AVX2 on
/// x86-64, NEON on arm64): 4.4 GB/s on the corpus's messages, where one memchr `memmem`
/// pass per trigger (seven) managed 1.5–2.6 GB/s together.
fn trigger_searcher() -> &'static aho_corasick::packed::Searcher {
    static SEARCHER: std::sync::OnceLock<aho_corasick::packed::Searcher> =
        std::sync::OnceLock::new();
    SEARCHER.get_or_init(|| {
        aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(REDACTION_TRIGGERS.iter().map(|(t, _)| t))
            .build()
            .expect("the triggers are few and short enough for the packed searcher")
    })
}

/// False when [`redact_event`] certainly leaves the event unchanged, judged from its text
/// and its `objectRef`: the pipeline then archives the original bytes without building
/// the event's tree. True for Secret, TokenReview and TokenRequest traffic that carries a
/// body, and whenever the text holds a credential-shaped run, a last-applied `data` member,
/// or a `\u` escape of a printable character other than the `<`, `>`, `&` Go's encoder
/// escapes (so that an escaped spelling cannot slip past the scan).
pub fn may_need_redaction(text: &str, resource: &str, subresource: &str, has_body: bool) -> bool {
    if has_body
        && (matches!(resource, "secrets" | "tokenreviews")
            || (resource == "serviceaccounts" && subresource == "token"))
    {
        return true;
    }
    let bytes = text.as_bytes();
    let searcher = trigger_searcher();
    let mut from = 0;
    // A candidate that its surroundings rule out resumes the search one byte on (not
    // past the hit), so no other trigger overlapping it is skipped.
    while let Some(hit) = searcher.find_in(bytes, aho_corasick::Span::from(from..bytes.len())) {
        let at = hit.start();
        let needed = match REDACTION_TRIGGERS[hit.pattern().as_usize()].1 {
            Trigger::Always => true,
            Trigger::DataMember => {
                let before = &bytes[..at];
                before.ends_with(br#"\"d"#) || before.ends_with(br#"\"stringD"#)
            }
            // `\u00XY`: printable ASCII is 0x20..0x7f.
            Trigger::Escape => match (bytes.get(hit.end()), bytes.get(hit.end() + 1)) {
                (Some(hi), Some(lo)) => {
                    let code = [*hi, lo.to_ascii_lowercase()];
                    matches!(hi, b'2'..=b'7') && !matches!(&code, b"26" | b"3c" | b"3e")
                }
                _ => true,
            },
        };
        if needed {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Redaction without building the tree when the text shows nothing to redact (almost
/// always); else the event's `Value` is redacted and, if anything changed, re-indexed from
/// its new text.
pub fn redact_audit_event(
    event: AuditEvent<'_>,
) -> Result<(AuditEvent<'_>, Vec<String>), EventError> {
    let has_body = event.has_member("requestObject") || event.has_member("responseObject");
    // A resource or subresource that is there but cannot be read (a lone surrogate in the
    // string, a number out of range) would hide what the scan keys on: take the general
    // path, which archives such an event as unparseable and redacts its text.
    let object_ref_unreadable = event.unreadable_in(&["objectRef", "resource"])
        || event.unreadable_in(&["objectRef", "subresource"]);
    if !object_ref_unreadable
        && !may_need_redaction(
            event.text(),
            event.resource(),
            event.subresource(),
            has_body,
        )
    {
        return Ok((event, Vec::new()));
    }
    let mut value = event.to_value()?;
    let paths = redact_event(&mut value);
    if paths.is_empty() {
        return Ok((event, paths));
    }
    Ok((AuditEvent::parse_owned(value.to_string())?, paths))
}

/// Redacts an audit event in place; returns the dotted paths that were redacted.
pub fn redact_event(event: &mut Value) -> Vec<String> {
    let mut paths = Vec::new();
    let resource = event
        .pointer("/objectRef/resource")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let subresource = event
        .pointer("/objectRef/subresource")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    for key in ["requestObject", "responseObject"] {
        if let Some(obj) = event.get_mut(key) {
            redact_object(obj, key, &resource, &subresource, &mut paths);
        }
    }
    // Anything else that looks like a credential, wherever it sits (a bearer token in
    // an annotation, a JWT in a custom resource, a token in a URI query).
    sweep_credentials(event, &mut String::new(), &mut paths);
    paths
}

fn redact_object(obj: &mut Value, path: &str, resource: &str, sub: &str, paths: &mut Vec<String>) {
    let kind = obj
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let is_secret =
        kind == "Secret" || (resource == "secrets" && sub.is_empty() && kind.is_empty());
    if is_secret {
        redact_secret(obj, path, paths);
    }
    if (kind == "SecretList" || resource == "secrets")
        && let Some(items) = obj.get_mut("items").and_then(Value::as_array_mut)
    {
        for (i, item) in items.iter_mut().enumerate() {
            redact_secret(item, &format!("{path}.items[{i}]"), paths);
        }
    }
    if kind == "TokenReview" || (resource == "tokenreviews" && kind.is_empty()) {
        redact_string_at(obj, &["spec", "token"], path, paths);
    }
    if kind == "TokenRequest" || (resource == "serviceaccounts" && sub == "token") {
        redact_string_at(obj, &["status", "token"], path, paths);
    }
    // A last-applied annotation of any object may embed a Secret (or a patch of one).
    redact_last_applied(obj, path, paths);
}

fn redact_secret(obj: &mut Value, path: &str, paths: &mut Vec<String>) {
    for field in ["data", "stringData"] {
        if let Some(map) = obj.get_mut(field).and_then(Value::as_object_mut) {
            redact_map_values(map, &format!("{path}.{field}"), paths);
        }
    }
    redact_last_applied(obj, path, paths);
}

fn redact_map_values(map: &mut Map<String, Value>, path: &str, paths: &mut Vec<String>) {
    for (k, v) in map.iter_mut() {
        let text = match &*v {
            Value::Null => continue,
            Value::String(s) if is_marker(s) => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        *v = Value::String(marker(&text));
        paths.push(format!("{path}.{k}"));
    }
}

fn redact_string_at(obj: &mut Value, keys: &[&str], path: &str, paths: &mut Vec<String>) {
    let mut cur = obj;
    for k in keys {
        match cur.get_mut(*k) {
            Some(next) => cur = next,
            None => return,
        }
    }
    if let Value::String(s) = cur
        && !is_marker(s)
        && !s.is_empty()
    {
        *s = marker(s);
        paths.push(format!("{path}.{}", keys.join(".")));
    }
}

fn redact_last_applied(obj: &mut Value, path: &str, paths: &mut Vec<String>) {
    let Some(annotation) = obj
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
        .and_then(|a| a.get_mut(LAST_APPLIED))
    else {
        return;
    };
    let Some(text) = annotation.as_str() else {
        return;
    };
    if is_marker(text) || !(text.contains("\"data\"") || text.contains("\"stringData\"")) {
        return;
    }
    let p = format!("{path}.metadata.annotations.{LAST_APPLIED}");
    match serde_json::from_str::<Value>(text) {
        Ok(mut inner) if inner.get("kind").and_then(Value::as_str) == Some("Secret") => {
            let before = paths.len();
            redact_secret(&mut inner, &p, paths);
            if paths.len() > before {
                *annotation = Value::String(inner.to_string());
            }
        }
        Ok(_) => {}
        // Unparseable but mentions data: do not guess, hide all of it.
        Err(_) => {
            *annotation = Value::String(marker(text));
            paths.push(p);
        }
    }
}

/// True for `Bearer …` and for strings shaped like a JWT (`eyJ….….…`).
fn looks_like_credential(s: &str) -> bool {
    if is_marker(s) {
        return false;
    }
    if let Some(rest) = s
        .strip_prefix("Bearer ")
        .or_else(|| s.strip_prefix("bearer "))
    {
        return !rest.trim().is_empty();
    }
    is_jwt(s)
}

fn is_jwt(s: &str) -> bool {
    s.len() >= 30
        && s.starts_with("eyJ")
        && s.matches('.').count() == 2
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

fn sweep_credentials(v: &mut Value, path: &mut String, paths: &mut Vec<String>) {
    match v {
        Value::String(s) => {
            if looks_like_credential(s) {
                *s = marker(s);
                paths.push(path.clone());
            } else if s.contains("eyJ") || s.contains("Bearer") || s.contains("token=") {
                let (text, n) = redact_text(s);
                if n > 0 {
                    *s = text;
                    paths.push(path.clone());
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                sweep_credentials(item, path, paths);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                sweep_credentials(item, path, paths);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Best-effort redaction of text that is not valid JSON (a truncated message, a URI):
/// values of `"token"`, JWT-shaped runs, `Bearer` tokens, `token=` query values and —
/// when the text is about Secrets — the `"data"`/`"stringData"` members. Returns the
/// text and how many values were replaced.
pub fn redact_text(text: &str) -> (String, usize) {
    let mut out = text.to_string();
    let mut count = 0;
    let secretish = text.contains("\"secrets\"") || text.contains("\"kind\":\"Secret\"");
    let mut keys = vec!["\"token\"", "\"access_token\"", "\"id_token\""];
    if secretish {
        keys.extend(["\"data\"", "\"stringData\""]);
    }
    for key in keys {
        count += redact_json_members(&mut out, key);
    }
    count += redact_runs(&mut out);
    (out, count)
}

/// Replaces the value after each `"key":` (a string or a balanced object, possibly cut
/// off by truncation) with a marker string.
fn redact_json_members(text: &mut String, key: &str) -> usize {
    let mut count = 0;
    let mut from = 0;
    while let Some(rel) = text[from..].find(key) {
        let key_end = from + rel + key.len();
        let b = text.as_bytes();
        let mut i = key_end;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= b.len() || b[i] != b':' {
            from = key_end;
            continue;
        }
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        let end = match b.get(i) {
            Some(b'"') => skip_string(b, i),
            Some(b'{') => skip_object(b, i),
            _ => {
                from = key_end;
                continue;
            }
        };
        let value = &text[start..end];
        if value.contains("<redacted sha256:") && !value.starts_with('{') {
            from = end;
            continue;
        }
        let replacement = format!("\"{}\"", marker(value));
        text.replace_range(start..end, &replacement);
        from = start + replacement.len();
        count += 1;
    }
    count
}

/// End (exclusive) of the JSON string starting at `i`, or the end of the text.
fn skip_string(b: &[u8], mut i: usize) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

fn skip_object(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = skip_string(b, i);
                continue;
            }
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    b.len()
}

/// JWT-shaped runs, `Bearer <x>` and `token=<x>` anywhere in free text.
fn redact_runs(text: &mut String) -> usize {
    let mut count = 0;
    let token_char =
        |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'=' | b'%');
    // `Bearer%20`/`Bearer+`: the same header inside a URL-encoded exec command.
    for opener in ["eyJ", "Bearer ", "Bearer%20", "Bearer+", "token="] {
        let mut from = 0;
        while let Some(rel) = text[from..].find(opener) {
            let at = from + rel;
            let start = if opener == "eyJ" {
                at
            } else {
                at + opener.len()
            };
            let b = text.as_bytes();
            let mut end = start;
            while end < b.len() && token_char(b[end]) {
                end += 1;
            }
            let value = &text[start..end];
            let worth = if opener == "eyJ" {
                is_jwt(value) || value.len() >= 100
            } else {
                value.len() >= 8
            };
            if worth {
                let m = marker(value);
                text.replace_range(start..end, &m);
                from = start + m.len();
                count += 1;
            } else {
                from = at + opener.len();
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marker_is_the_first_twelve_hex_digits_of_the_digest() {
        for value in ["", "hunter2", "eyJhbGciOi", "\u{1F512} ünïcode"] {
            let mut h = Sha256::new();
            h.update(b"eks-audit-watch/redact\0");
            h.update(value.as_bytes());
            let hex: String = h.finalize()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(marker(value), format!("<redacted sha256:{hex}>"));
            assert!(is_marker(&marker(value)));
        }
    }

    const JWT: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

    fn all_text(v: &Value) -> String {
        v.to_string()
    }

    #[test]
    fn secret_data_string_data_and_last_applied_are_redacted() {
        let last_applied = json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "payments"},
            "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "admin-user"}})
        .to_string();
        let mut ev = json!({
            "objectRef": {"resource": "secrets", "namespace": "payments", "name": "db"},
            "requestObject": {"kind": "Secret", "apiVersion": "v1",
                "metadata": {"name": "db", "annotations": {LAST_APPLIED: last_applied}},
                "data": {"password": "aHVudGVyMg=="}, "stringData": {"user": "admin-user"}},
            "responseObject": {"kind": "Secret", "data": {"password": "aHVudGVyMg=="}}
        });
        let paths = redact_event(&mut ev);
        let text = all_text(&ev);
        assert!(!text.contains("aHVudGVyMg=="), "{text}");
        assert!(!text.contains("admin-user"), "{text}");
        assert_eq!(
            ev["requestObject"]["data"]["password"],
            marker("aHVudGVyMg==")
        );
        assert_eq!(
            ev["responseObject"]["data"]["password"],
            ev["requestObject"]["data"]["password"]
        );
        assert!(paths.contains(&"requestObject.data.password".to_string()));
        assert!(paths.contains(&"requestObject.stringData.user".to_string()));
        assert!(paths.iter().any(|p| p.contains(LAST_APPLIED)));
        // Keys stay visible.
        let inner: Value = serde_json::from_str(
            ev["requestObject"]["metadata"]["annotations"][LAST_APPLIED]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        assert!(
            inner["data"]["password"]
                .as_str()
                .unwrap()
                .starts_with("<redacted sha256:")
        );
        // Idempotent: a second pass changes nothing.
        let again = ev.clone();
        assert!(redact_event(&mut ev).is_empty());
        assert_eq!(ev, again);
    }

    #[test]
    fn secret_patches_and_lists_are_redacted() {
        let mut patch = json!({"objectRef": {"resource": "secrets", "name": "db"},
            "requestObject": {"data": {"password": "c2VjcmV0"}}});
        redact_event(&mut patch);
        assert!(!all_text(&patch).contains("c2VjcmV0"));
        let mut list = json!({"objectRef": {"resource": "secrets"},
            "responseObject": {"kind": "SecretList", "items": [{"data": {"k": "djE="}}, {"data": {"k": "djI="}}]}});
        let paths = redact_event(&mut list);
        assert_eq!(
            paths,
            [
                "responseObject.items[0].data.k",
                "responseObject.items[1].data.k"
            ]
        );
    }

    #[test]
    fn tokens_are_redacted() {
        let mut review = json!({"objectRef": {"resource": "tokenreviews"},
            "requestObject": {"kind": "TokenReview", "spec": {"token": "opaque-token-value-123"}},
            "responseObject": {"kind": "TokenReview", "spec": {"token": "opaque-token-value-123"}, "status": {"authenticated": true}}});
        redact_event(&mut review);
        assert!(!all_text(&review).contains("opaque-token-value-123"));
        assert_eq!(review["responseObject"]["status"]["authenticated"], true);

        let mut request = json!({"objectRef": {"resource": "serviceaccounts", "subresource": "token"},
            "responseObject": {"kind": "TokenRequest", "status": {"token": JWT, "expirationTimestamp": "x"}}});
        redact_event(&mut request);
        assert!(!all_text(&request).contains("eyJpc3M"));
        assert_eq!(
            request["responseObject"]["status"]["expirationTimestamp"],
            "x"
        );

        let mut bearer = json!({"requestObject": {"kind": "ConfigMap", "data": {"auth": "Bearer abcdefghijklmnop", "note": "hello"}},
            "requestURI": format!("/apis/x?token={JWT}")});
        let paths = redact_event(&mut bearer);
        assert!(!all_text(&bearer).contains("abcdefghijklmnop"));
        assert!(!all_text(&bearer).contains("eyJpc3M"));
        assert_eq!(bearer["requestObject"]["data"]["note"], "hello");
        assert_eq!(paths.len(), 2);
    }

    #[test]
    fn configmaps_are_left_alone() {
        let mut cm = json!({"objectRef": {"resource": "configmaps", "name": "aws-auth"},
            "requestObject": {"kind": "ConfigMap", "data": {"mapRoles": "- rolearn: arn:aws:iam::1:role/x"}}});
        let before = cm.clone();
        assert!(redact_event(&mut cm).is_empty());
        assert_eq!(cm, before);
    }

    #[test]
    fn truncated_text_is_redacted_best_effort() {
        let raw = r#"{"kind":"Event","objectRef":{"resource":"secrets"},"requestObject":{"kind":"Secret","data":{"password":"aHVudGVyMg==","api":"c2VjcmV0LXNlY3"#;
        let (out, n) = redact_text(raw);
        assert!(n >= 1);
        assert!(!out.contains("aHVudGVyMg=="), "{out}");
        assert!(!out.contains("c2VjcmV0LXNlY3"), "{out}");
        let raw = format!(r#"{{"responseObject":{{"status":{{"token":"{JWT}","expir"#);
        let (out, _) = redact_text(&raw);
        assert!(!out.contains("eyJpc3M"), "{out}");
        let (plain, n) =
            redact_text(r#"{"kind":"Event","verb":"get","requestObject":{"data":{"a":"b"#);
        assert_eq!(n, 0, "{plain}");
    }

    /// The fast path's promise: whenever `redact_event` would change an event, the text scan
    /// says so. Checked on every fixture event of the project, the generated corpus (with
    /// attacks), the events above, and spellings that hide a trigger behind `\u` escapes.
    #[test]
    fn a_trigger_overlapping_a_ruled_out_candidate_is_still_found() {
        // `ata\"` of `metadata\"` is ruled out (not a `data` member); the `"Secret` that
        // starts on its last byte still counts.
        assert!(may_need_redaction(
            r#"{"a":"metadata\"Secret"}"#,
            "",
            "",
            false
        ));
        assert!(!may_need_redaction(r#"{"a":"metadata\"x"}"#, "", "", false));
        // Likewise an escape ruled out (`\u003c` is `<`) right before a real one.
        assert!(may_need_redaction(
            r#"{"a":"\u003c\u0042earer"}"#,
            "",
            "",
            false
        ));
        assert!(!may_need_redaction(
            r#"{"a":"\u003cb\u003e"}"#,
            "",
            "",
            false
        ));
    }

    #[test]
    fn the_text_scan_never_misses_what_redaction_would_change() {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "json") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    if let Ok(v) = serde_json::from_str::<Value>(&text) {
                        let ev = v.get("event").cloned().unwrap_or(v);
                        out.push(ev.to_string());
                    }
                }
            }
        }
        let mut texts = Vec::new();
        walk(std::path::Path::new("tests/data"), &mut texts);
        let fixtures = texts.len();
        assert!(fixtures > 100, "{fixtures} fixture events");
        let corpus_start = texts.len();
        texts.extend(crate::corpus::Corpus::messages(5, 4000));
        let secret = json!({"objectRef": {"resource": "secrets", "name": "db"},
            "requestObject": {"kind": "Secret", "data": {"password": "c2VjcmV0"}}});
        let cm_with_secret_annotation = json!({"objectRef": {"resource": "configmaps"},
            "requestObject": {"kind": "ConfigMap", "metadata": {"annotations": {LAST_APPLIED:
                json!({"kind": "Secret", "data": {"k": "djE="}}).to_string()}}}});
        texts.push(secret.to_string());
        texts.push(cm_with_secret_annotation.to_string());
        texts.push(format!(
            r#"{{"annotations":{{"a":"Bearer abcdefghijk"}},"requestURI":"/x?token={JWT}"}}"#
        ));
        // The same secrets behind escapes: the text holds none of the plain triggers.
        let escaped = [
            r#"{"annotations":{"a":"\u0042earer abcdefghijk"}}"#,
            r#"{"requestURI":"/x?\u0074oken=abcdefghijklmnopqrstuvwxyz0123456789"}"#,
            r#"{"objectRef":{"resource":"pods"},"requestObject":{"kind":"Secre\u0074","data":{"k":"djE="}}}"#,
        ];
        texts.extend(escaped.iter().map(|s| s.to_string()));

        let mut quiet_corpus = 0;
        for (i, text) in texts.iter().enumerate() {
            let Ok(event) = AuditEvent::parse(text) else {
                continue;
            };
            let has_body = event.has_member("requestObject") || event.has_member("responseObject");
            let flagged = may_need_redaction(text, event.resource(), event.subresource(), has_body);
            let mut v = event.to_value().unwrap();
            let changed = !redact_event(&mut v).is_empty();
            assert!(flagged || !changed, "missed: {text}");
            if i >= corpus_start && i < corpus_start + 4000 && !flagged {
                quiet_corpus += 1;
            }
        }
        for text in escaped {
            let mut v: Value = serde_json::from_str(text).unwrap();
            assert!(!redact_event(&mut v).is_empty(), "{text}");
        }
        // And the scan is worth having: ordinary traffic takes the fast path.
        assert!(quiet_corpus > 3600, "{quiet_corpus} of 4000 corpus events");
        // A Secret whose objectRef cannot be read (a number out of range): never archived
        // as is.
        let odd = r#"{"kind":"Event","objectRef":{"resource":"secrets","x":1e999},"requestObject":{"data":{"password":"aHVudGVyMg=="}}}"#;
        assert!(redact_audit_event(AuditEvent::parse(odd).unwrap()).is_err());
        assert!(!redact_text(odd).0.contains("aHVudGVyMg=="));
        // A resource that cannot be read at all (a lone surrogate) takes the general path.
        let unreadable =
            r#"{"kind":"Event","objectRef":{"resource":"secr\ud800"},"requestObject":{"x":1}}"#;
        assert!(redact_audit_event(AuditEvent::parse(unreadable).unwrap()).is_err());
        let html =
            r#"{"requestObject":{"kind":"ConfigMap","data":{"s":"a \u0026\u0026 b \u003e c"}}}"#;
        assert!(!may_need_redaction(html, "configmaps", "", true));
        // A last-applied annotation flags the event only when it has a `data` or
        // `stringData` member; `metadata`, in nearly every one, ends the same way.
        let applied = |inner: Value| {
            json!({"objectRef": {"resource": "deployments"}, "requestObject": {"kind": "Deployment",
                "metadata": {"annotations": {LAST_APPLIED: inner.to_string()}}}})
            .to_string()
        };
        let workload = applied(json!({"kind": "Deployment", "metadata": {"name": "web"}}));
        assert!(!may_need_redaction(&workload, "deployments", "", true));
        for member in ["data", "stringData"] {
            let text = applied(json!({"kind": "Secret", member: {"k": "djE="}}));
            assert!(
                may_need_redaction(&text, "deployments", "", true),
                "{member}"
            );
        }
    }
}
