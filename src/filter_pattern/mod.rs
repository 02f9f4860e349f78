//! An evaluator for the CloudWatch Logs **JSON filter-pattern** language, so
//! the Lambda can apply the same filter as the subscription (defence in depth:
//! a subscription may have been created by hand with a broader pattern).
//!
//! It is a small compiler: `lexer` (tokens with byte spans) → `parser`
//! (recursive descent with precedence climbing, AST with spans, values
//! precompiled) → `eval` (walks a `serde_json::Value` by reference, no
//! per-event allocation).
//!
//! ```text
//! { $.stage = "ResponseComplete" && $.requestURI != "/healthz*" }
//! ```
//!
//! # Supported language
//!
//! * **Pattern kinds.** The empty (or whitespace-only) pattern matches every
//!   event. Otherwise the pattern must be a JSON pattern `{ expr }`, with
//!   nothing after the closing `}`. Term patterns (`ERROR`, `?ERROR ?WARN`,
//!   `"some text"`) and space-delimited patterns (`[ip, user, ...]`) are
//!   rejected with an error. A pattern is at most [`MAX_PATTERN_LEN`]
//!   characters (CloudWatch's limit).
//! * **Selectors.** `$.a`, `$.a.b.c`, `$.a[0]`, `$.a[0].b`, `$.a.b[2][1]`,
//!   and `$[0]`. A property name is one or more of ASCII letters and digits,
//!   `_`, `-`, `@`, `:`, and non-ASCII letters/digits (so `$.@timestamp`,
//!   `$.user-agent`, `$.aws:region` work). Bracketed names (`$.a["x.y"]`) and
//!   selector wildcards (`$.a.*`) are not supported. Any other character
//!   directly after a selector is an error.
//! * **Comparisons.** `=`, `!=`, `<`, `>`, `<=`, `>=`. A value is a
//!   double-quoted string (escapes `\"` and `\\`; any other backslash is kept
//!   literally) or an unquoted bareword, which runs until whitespace or one of
//!   `( ) { } " = < > ! & |`.
//!   * A bareword that is a number (`-12`, `3.5`, `.5`, `1e3`) is a **numeric
//!     value**: it compares numerically with JSON numbers only (integers
//!     exactly, others as `f64`). Against a string, boolean, null, array or
//!     object — even a string such as `"404"` — a numeric comparison is false,
//!     for every operator including `!=`.
//!   * Every other value is a **string value**, usable only with `=` and
//!     `!=` (`<` etc. with a string is a parse error). It compares with a JSON
//!     string, and with the JSON text of a number (`404`, `1.5`) or boolean
//!     (`true`, `false`), so `$.code = "4*"` matches `404`. Against `null`,
//!     arrays and objects it is false, for `=` and `!=` alike (use `IS NULL`).
//!   * `*` in a string value is a wildcard for any run of characters
//!     (including none): `abc*` is a prefix match, `*abc` a suffix match,
//!     `*abc*` a contains match, and `*` alone matches any string. AWS
//!     documents only the leading and trailing forms; a `*` between literal
//!     text (`10.*.1`) is undocumented by AWS, and we treat it as a glob.
//!     There is no escape for a literal `*`.
//! * **Tests.** `$.a IS TRUE`, `IS FALSE` (a JSON boolean), `IS NULL` (an
//!   explicit JSON `null` only), `$.a NOT EXISTS` (true only when the path is
//!   absent). Keywords are upper-case, as AWS writes them.
//! * **Missing fields.** A comparison on a missing field is **false, even
//!   `!=`** — the CloudWatch quirk that makes `$.requestURI != "/healthz*"`
//!   drop events without a `requestURI`. A path is missing when a key is
//!   absent, an index is out of range, or a step has the wrong type (a key
//!   into a non-object, an index into a non-array).
//! * **Logic.** `&&` binds tighter than `||` (`a || b && c` is
//!   `a || (b && c)`); parentheses group. Matching is case-sensitive.
//! * **Not supported** (parse error): regular expressions `%...%`.
//!
//! Errors ([`FilterPatternError`]) carry the 1-based column (in characters)
//! and say what was expected and what was found.
//!
//! Events that are not JSON objects simply have no fields: every comparison
//! is false and every `NOT EXISTS` is true. Whether to run the filter on a
//! message that failed to parse as JSON is the caller's decision.

mod eval;
mod lexer;
mod parser;

use std::str::FromStr;

use crate::doc::JsonDoc;

/// The subscription filter pattern recommended by Lacework for EKS audit
/// logs; also the default `FilterPattern` of our CloudFormation template.
pub const LACEWORK_PATTERN: &str = r#"{ $.stage = "ResponseComplete" && $.requestURI != "/version" && $.requestURI != "/version?*" && $.requestURI != "/metrics" && $.requestURI != "/metrics?*" && $.requestURI != "/logs" && $.requestURI != "/logs?*" && $.requestURI != "/swagger*" && $.requestURI != "/livez*" && $.requestURI != "/readyz*" && $.requestURI != "/healthz*" }"#;

/// CloudWatch Logs' maximum filter-pattern length, in characters.
pub const MAX_PATTERN_LEN: usize = 1024;

/// A compiled CloudWatch Logs JSON filter pattern.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    source: String,
    /// `None` for the empty pattern, which matches everything.
    expr: Option<parser::Expr>,
}

/// A pattern that failed to parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("filter pattern error at column {column}: {message}")]
pub struct FilterPatternError {
    /// 1-based column of the error, counted in characters.
    pub column: usize,
    pub message: String,
}

impl FilterPatternError {
    /// The 1-based character column of a byte offset into `src`.
    fn column_of(src: &str, byte_offset: usize) -> usize {
        let offset = byte_offset.min(src.len());
        src.get(..offset)
            .map_or(offset, |prefix| prefix.chars().count())
            + 1
    }

    /// An error at a byte offset into `src`.
    fn at(src: &str, byte_offset: usize, message: impl Into<String>) -> Self {
        FilterPatternError {
            column: Self::column_of(src, byte_offset),
            message: message.into(),
        }
    }
}

impl FilterPattern {
    /// Parses and compiles a filter pattern.
    pub fn parse(src: &str) -> Result<FilterPattern, FilterPatternError> {
        let len = src.chars().count();
        if len > MAX_PATTERN_LEN {
            return Err(FilterPatternError {
                column: MAX_PATTERN_LEN + 1,
                message: format!(
                    "pattern is {len} characters long; CloudWatch Logs allows at most \
                     {MAX_PATTERN_LEN}"
                ),
            });
        }
        let start = src.len() - src.trim_start().len();
        const ONLY: &str = "only JSON patterns '{ ... }' and the empty pattern (which matches everything) \
             are supported";
        let expr = match src[start..].chars().next() {
            None => None,
            Some('{') => Some(parser::parse(src)?),
            Some('[') => {
                return Err(FilterPatternError::at(
                    src,
                    start,
                    format!("space-delimited patterns '[...]' are not supported: {ONLY}"),
                ));
            }
            Some(_) => {
                return Err(FilterPatternError::at(
                    src,
                    start,
                    format!("term patterns are not supported: {ONLY}"),
                ));
            }
        };
        Ok(FilterPattern {
            source: src.to_string(),
            expr,
        })
    }

    /// True when the event is kept.
    pub fn matches(&self, event: &dyn JsonDoc) -> bool {
        match &self.expr {
            None => true,
            Some(expr) => eval::eval(expr, event),
        }
    }

    /// The pattern text as given to [`FilterPattern::parse`].
    pub fn source(&self) -> &str {
        &self.source
    }

    /// True for the empty (or whitespace-only) pattern, which keeps every event.
    pub fn matches_everything(&self) -> bool {
        self.expr.is_none()
    }
}

impl FromStr for FilterPattern {
    type Err = FilterPatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FilterPattern::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn fp(src: &str) -> FilterPattern {
        FilterPattern::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn err(src: &str) -> FilterPatternError {
        FilterPattern::parse(src).expect_err(src)
    }

    fn audit(stage: &str, uri: &str) -> Value {
        json!({
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "auditID": "0b5a3c2e-1111-2222-3333-444455556666",
            "stage": stage,
            "requestURI": uri,
            "verb": "list",
            "user": {"username": "admin", "groups": ["system:masters"]},
            "sourceIPs": ["10.0.12.7", "203.0.113.9"],
            "responseStatus": {"metadata": {}, "code": 200}
        })
    }

    #[test]
    fn lacework_pattern_is_byte_exact() {
        assert_eq!(LACEWORK_PATTERN.len(), 333);
        assert_eq!(LACEWORK_PATTERN.matches(" && ").count(), 10);
        assert_eq!(LACEWORK_PATTERN.matches('"').count(), 22);
        assert!(LACEWORK_PATTERN.starts_with(r#"{ $.stage = "ResponseComplete" && "#));
        assert!(LACEWORK_PATTERN.ends_with(r#"&& $.requestURI != "/healthz*" }"#));
        assert!(LACEWORK_PATTERN.chars().count() <= MAX_PATTERN_LEN);
        assert_eq!(fp(LACEWORK_PATTERN).source(), LACEWORK_PATTERN);
    }

    #[test]
    fn lacework_keeps_api_requests() {
        let p = fp(LACEWORK_PATTERN);
        assert!(!p.matches_everything());
        for uri in [
            "/api/v1/namespaces/default/pods",
            "/api/v1/namespaces/kube-system/configmaps/aws-auth",
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
            "/api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true",
            // Not one of the excluded prefixes, even though they contain them.
            "/api/v1/namespaces/default/services/metrics:http/proxy",
            "/versions",
            "/logsx",
        ] {
            assert!(
                p.matches(&audit("ResponseComplete", uri)),
                "{uri} should be kept"
            );
        }
    }

    #[test]
    fn lacework_drops_noise() {
        let p = fp(LACEWORK_PATTERN);
        assert!(!p.matches(&audit("RequestReceived", "/api/v1/namespaces/default/pods")));
        assert!(!p.matches(&audit("ResponseStarted", "/api/v1/namespaces/default/pods")));
        for uri in [
            "/healthz",
            "/healthz?verbose",
            "/healthz/etcd",
            "/readyz",
            "/readyz?exclude=etcd",
            "/livez",
            "/livez?exclude=x",
            "/version",
            "/version?timeout=32s",
            "/metrics",
            "/metrics?x=1",
            "/logs",
            "/logs?x=1",
            "/swagger.json",
            "/swagger-2.0.0.pb-v1",
        ] {
            assert!(
                !p.matches(&audit("ResponseComplete", uri)),
                "{uri} should be dropped"
            );
        }
    }

    #[test]
    fn lacework_drops_event_missing_request_uri() {
        // Missing field ⇒ every `!=` is false ⇒ the whole && is false.
        let p = fp(LACEWORK_PATTERN);
        let mut event = audit("ResponseComplete", "/api/v1/pods");
        event.as_object_mut().unwrap().remove("requestURI");
        assert!(!p.matches(&event));
        // Also when requestURI is present but not comparable.
        event["requestURI"] = Value::Null;
        assert!(!p.matches(&event));
        event["requestURI"] = json!(["/api"]);
        assert!(!p.matches(&event));
        // And when the stage is missing.
        let mut event = audit("ResponseComplete", "/api/v1/pods");
        event.as_object_mut().unwrap().remove("stage");
        assert!(!p.matches(&event));
    }

    #[test]
    fn lacework_is_case_sensitive() {
        let p = fp(LACEWORK_PATTERN);
        assert!(!p.matches(&audit("responsecomplete", "/api/v1/pods")));
        // "/HEALTHZ" is not excluded by "/healthz*".
        assert!(p.matches(&audit("ResponseComplete", "/HEALTHZ")));
    }

    #[test]
    fn missing_field_makes_not_equal_false() {
        let p = fp(r#"{ $.a != "x" }"#);
        assert!(p.matches(&json!({"a": "y"})));
        assert!(!p.matches(&json!({"a": "x"})));
        assert!(!p.matches(&json!({"b": "y"})));
        assert!(!p.matches(&json!({})));
        let p = fp("{ $.a != 5 }");
        assert!(p.matches(&json!({"a": 6})));
        assert!(!p.matches(&json!({})));
        assert!(
            !p.matches(&json!({"a": "6"})),
            "numeric != on a string is false"
        );
    }

    #[test]
    fn empty_pattern_matches_everything() {
        for src in ["", "   ", "\n\t "] {
            let p = fp(src);
            assert!(p.matches_everything());
            assert!(p.matches(&json!({})));
            assert!(p.matches(&json!("not an object")));
            assert_eq!(p.source(), src);
        }
        let p: FilterPattern = "".parse().unwrap();
        assert!(p.matches_everything());
    }

    #[test]
    fn precedence_and_binds_tighter() {
        // a || b && c  ==  a || (b && c)
        let p = fp("{ $.a = 1 || $.b = 1 && $.c = 1 }");
        assert!(p.matches(&json!({"a": 1, "b": 0, "c": 0})));
        assert!(p.matches(&json!({"a": 0, "b": 1, "c": 1})));
        assert!(!p.matches(&json!({"a": 0, "b": 1, "c": 0})));
        // With (a || b) && c the first event would be dropped.
        let q = fp("{ ($.a = 1 || $.b = 1) && $.c = 1 }");
        assert!(!q.matches(&json!({"a": 1, "b": 0, "c": 0})));
        assert!(q.matches(&json!({"a": 1, "b": 0, "c": 1})));

        // a && b || c  ==  (a && b) || c
        let p = fp("{ $.a = 1 && $.b = 1 || $.c = 1 }");
        assert!(p.matches(&json!({"a": 0, "b": 0, "c": 1})));
        assert!(!p.matches(&json!({"a": 1, "b": 0, "c": 0})));
    }

    #[test]
    fn aws_documented_precedence_example() {
        // From the CloudWatch docs: matches because && is evaluated first.
        let p = fp(
            r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nomatch" }"#,
        );
        let event = json!({
            "user": {"id": 1, "email": "John.Stiles@example.com"},
            "coordinates": [[0, 1], [2, 3]],
            "actions": ["GET", "PUT", "DELETE"]
        });
        assert!(p.matches(&event));
    }

    #[test]
    fn parentheses_group() {
        let p = fp(
            r#"{ ($.verb = "create" || $.verb = "update") && ($.objectRef.resource = "roles" || $.objectRef.resource = "rolebindings") }"#,
        );
        let ev = |verb: &str, res: &str| json!({"verb": verb, "objectRef": {"resource": res}});
        assert!(p.matches(&ev("create", "roles")));
        assert!(p.matches(&ev("update", "rolebindings")));
        assert!(!p.matches(&ev("get", "roles")));
        assert!(!p.matches(&ev("create", "pods")));
        let nested = fp("{ (($.a = 1 && ($.b = 2 || $.c = 3))) }");
        assert!(nested.matches(&json!({"a": 1, "c": 3})));
        assert!(!nested.matches(&json!({"a": 1, "b": 3})));
    }

    #[test]
    fn numeric_comparisons() {
        let p = fp("{ $.responseStatus.code >= 400 }");
        let ev = |code: Value| json!({"responseStatus": {"code": code}});
        assert!(p.matches(&ev(json!(403))));
        assert!(p.matches(&ev(json!(400))));
        assert!(!p.matches(&ev(json!(200))));
        // A numeric comparison on a non-number field is false.
        assert!(!p.matches(&ev(json!("403"))));
        assert!(!p.matches(&ev(json!(true))));
        assert!(!p.matches(&ev(json!(null))));
        assert!(!p.matches(&ev(json!([403]))));
        assert!(!p.matches(&json!({"responseStatus": {}})));

        let lt = fp("{ $.latency < 0.5 }");
        assert!(lt.matches(&json!({"latency": 0.25})));
        assert!(!lt.matches(&json!({"latency": 0.5})));
        assert!(fp("{ $.n = 1e3 }").matches(&json!({"n": 1000})));
        assert!(fp("{ $.n = -12 }").matches(&json!({"n": -12})));
        assert!(fp("{ $.n > -12 }").matches(&json!({"n": 0})));
        assert!(fp("{ $.n <= 3.5 }").matches(&json!({"n": 3.5})));
        assert!(fp("{ $.n != 5 }").matches(&json!({"n": 5.5})));
        assert!(!fp("{ $.n = 401 }").matches(&json!({"n": "401"})));
    }

    #[test]
    fn string_values_against_numbers_and_bools() {
        assert!(fp(r#"{ $.code = "404" }"#).matches(&json!({"code": 404})));
        assert!(fp(r#"{ $.code = "4*" }"#).matches(&json!({"code": 404})));
        assert!(!fp(r#"{ $.code = "5*" }"#).matches(&json!({"code": 404})));
        assert!(fp(r#"{ $.code != "5*" }"#).matches(&json!({"code": 404})));
        assert!(fp(r#"{ $.x = "1.5" }"#).matches(&json!({"x": 1.5})));
        assert!(fp("{ $.flag = true }").matches(&json!({"flag": true})));
        assert!(fp(r#"{ $.flag = "false" }"#).matches(&json!({"flag": false})));
        assert!(!fp("{ $.flag = true }").matches(&json!({"flag": "TRUE"})));
    }

    #[test]
    fn null_array_and_object_values_never_compare() {
        for src in [
            r#"{ $.a = "x" }"#,
            r#"{ $.a != "x" }"#,
            "{ $.a = * }",
            "{ $.a = null }",
        ] {
            let p = fp(src);
            assert!(!p.matches(&json!({"a": null})), "{src} vs null");
            assert!(!p.matches(&json!({"a": ["x"]})), "{src} vs array");
            assert!(!p.matches(&json!({"a": {"x": 1}})), "{src} vs object");
        }
    }

    #[test]
    fn array_indexing() {
        let p = fp(r#"{ $.sourceIPs[0] = "10.*" }"#);
        assert!(p.matches(&json!({"sourceIPs": ["10.0.1.5", "203.0.113.9"]})));
        assert!(!p.matches(&json!({"sourceIPs": ["192.168.1.1", "10.0.1.5"]})));
        assert!(!p.matches(&json!({"sourceIPs": []})));
        assert!(!p.matches(&json!({"sourceIPs": "10.0.1.5"})));

        let p = fp("{ $.sourceIPs[1] = 203.0.113.* }");
        assert!(p.matches(&json!({"sourceIPs": ["10.0.1.5", "203.0.113.9"]})));

        let p = fp("{ $.objectList[1].id = 2 }");
        assert!(p.matches(&json!({"objectList": [{"id": 1}, {"id": 2}]})));
        assert!(!p.matches(&json!({"objectList": [{"id": 2}]})));

        let p = fp(r#"{ $.a.b[2][1] = "z" }"#);
        assert!(p.matches(&json!({"a": {"b": [[], [], ["y", "z"]]}})));
        assert!(!p.matches(&json!({"a": {"b": [[], [], ["z"]]}})));
    }

    #[test]
    fn is_null_not_exists_is_true_is_false() {
        let is_null = fp("{ $.a IS NULL }");
        assert!(is_null.matches(&json!({"a": null})));
        assert!(!is_null.matches(&json!({})));
        assert!(!is_null.matches(&json!({"a": ""})));
        assert!(!is_null.matches(&json!({"a": 0})));

        let not_exists = fp("{ $.a.b NOT EXISTS }");
        assert!(not_exists.matches(&json!({})));
        assert!(not_exists.matches(&json!({"a": {}})));
        assert!(not_exists.matches(&json!({"a": "scalar"})));
        assert!(!not_exists.matches(&json!({"a": {"b": null}})));
        assert!(!not_exists.matches(&json!({"a": {"b": false}})));

        let is_true = fp("{ $.ok IS TRUE }");
        assert!(is_true.matches(&json!({"ok": true})));
        assert!(!is_true.matches(&json!({"ok": false})));
        assert!(!is_true.matches(&json!({"ok": "true"})));
        assert!(!is_true.matches(&json!({"ok": 1})));
        assert!(!is_true.matches(&json!({})));

        let is_false = fp("{ $.ok IS FALSE }");
        assert!(is_false.matches(&json!({"ok": false})));
        assert!(!is_false.matches(&json!({"ok": true})));
        assert!(!is_false.matches(&json!({"ok": null})));
        assert!(!is_false.matches(&json!({})));

        let combined =
            fp("{ $.impersonatedUser NOT EXISTS && $.user.username = system:anonymous }");
        assert!(combined.matches(&json!({"user": {"username": "system:anonymous"}})));
        assert!(
            !combined.matches(
                &json!({"user": {"username": "system:anonymous"}, "impersonatedUser": {}})
            )
        );
    }

    #[test]
    fn wildcards_in_every_position() {
        let ev = |uri: &str| json!({"requestURI": uri});
        let prefix = fp(r#"{ $.requestURI = "/api/v1/secrets*" }"#);
        assert!(prefix.matches(&ev("/api/v1/secrets")));
        assert!(prefix.matches(&ev("/api/v1/secrets?limit=500")));
        assert!(!prefix.matches(&ev("/api/v1/namespaces/x/secrets")));

        let suffix = fp(r#"{ $.requestURI = "*/exec" }"#);
        assert!(suffix.matches(&ev("/api/v1/namespaces/x/pods/p/exec")));
        assert!(!suffix.matches(&ev("/api/v1/namespaces/x/pods/p/exec?command=sh")));

        let contains = fp(r#"{ $.requestURI = "*/secrets*" }"#);
        assert!(contains.matches(&ev("/api/v1/namespaces/x/secrets/token")));
        assert!(contains.matches(&ev("/secrets")));
        assert!(!contains.matches(&ev("/api/v1/configmaps")));

        let middle = fp(r#"{ $.requestURI = "/api/v1/namespaces/*/pods" }"#);
        assert!(middle.matches(&ev("/api/v1/namespaces/default/pods")));
        assert!(!middle.matches(&ev("/api/v1/namespaces/default/pods/web-0")));
        assert!(!middle.matches(&ev("/api/v1/pods")));

        let many = fp("{ $.requestURI = */namespaces/*/pods/*/exec* }");
        assert!(many.matches(&ev("/api/v1/namespaces/default/pods/web-0/exec?command=sh")));
        assert!(!many.matches(&ev("/api/v1/namespaces/default/pods/web-0/log")));

        let any = fp(r#"{ $.requestURI = "*" }"#);
        assert!(any.matches(&ev("")));
        assert!(any.matches(&ev("/x")));
        assert!(!any.matches(&json!({})));

        let bare = fp("{ $.sourceIPAddress != 123.123.* }");
        assert!(bare.matches(&json!({"sourceIPAddress": "10.0.0.1"})));
        assert!(!bare.matches(&json!({"sourceIPAddress": "123.123.0.1"})));
    }

    #[test]
    fn quoted_escapes_and_literal_question_mark() {
        let p = fp(r#"{ $.msg = "say \"hi\" \\ *" }"#);
        assert!(p.matches(&json!({"msg": "say \"hi\" \\ there"})));
        // '?' is not a wildcard.
        let q = fp(r#"{ $.u = "/version?*" }"#);
        assert!(q.matches(&json!({"u": "/version?timeout=1s"})));
        assert!(!q.matches(&json!({"u": "/versionX"})));
    }

    #[test]
    fn property_names_with_special_characters() {
        let p = fp("{ $.@timestamp = x && $.user-agent = y && $.aws:region = z && $.a_b1 = w }");
        assert!(p.matches(
            &json!({"@timestamp": "x", "user-agent": "y", "aws:region": "z", "a_b1": "w"})
        ));
    }

    #[test]
    fn non_object_event_has_no_fields() {
        assert!(!fp("{ $.a = * }").matches(&json!("raw text")));
        assert!(fp("{ $.a NOT EXISTS }").matches(&json!("raw text")));
        assert!(fp("{ $[0] = 1 }").matches(&json!([1])));
    }

    #[test]
    fn whitespace_is_flexible() {
        let p = fp("\n  {$.a=1&&($.b!=x||$.c>=2)}  \n");
        assert!(p.matches(&json!({"a": 1, "b": "y"})));
        assert!(p.matches(&json!({"a": 1, "b": "x", "c": 2})));
        assert!(!p.matches(&json!({"a": 1, "b": "x", "c": 1})));
    }

    #[test]
    fn error_term_and_space_delimited_patterns() {
        let e = err("ERROR");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("term patterns are not supported"), "{e}");
        assert!(e.message.contains("only JSON patterns '{ ... }'"), "{e}");

        let e = err(r#"  "Exception occurred""#);
        assert_eq!(e.column, 3);
        assert!(e.message.contains("term patterns"), "{e}");

        let e = err("?ERROR ?WARN");
        assert_eq!(e.column, 1);

        let e = err(" [ip, user, status_code=4*]");
        assert_eq!(e.column, 2);
        assert!(e.message.contains("space-delimited patterns"), "{e}");
        assert!(e.message.contains("only JSON patterns"), "{e}");
    }

    #[test]
    fn error_too_long() {
        let long = format!("{{ $.a = \"{}\" }}", "x".repeat(MAX_PATTERN_LEN));
        let e = err(&long);
        assert_eq!(e.column, MAX_PATTERN_LEN + 1);
        assert!(e.message.contains("at most 1024"), "{e}");
        // Exactly at the limit is fine.
        let pad = MAX_PATTERN_LEN - "{ $.a = \"\" }".len();
        let exact = format!("{{ $.a = \"{}\" }}", "x".repeat(pad));
        assert_eq!(exact.chars().count(), MAX_PATTERN_LEN);
        assert!(FilterPattern::parse(&exact).is_ok());
        // Counted in characters, not bytes.
        let exact_multibyte = format!("{{ $.a = \"{}\" }}", "é".repeat(pad));
        assert!(FilterPattern::parse(&exact_multibyte).is_ok());
    }

    #[test]
    fn error_trailing_input() {
        let e = err(r#"{ $.a = "x" } && $.b = "y""#);
        assert_eq!(e.column, 15);
        assert!(e.message.contains("after the closing '}'"), "{e}");
    }

    #[test]
    fn error_missing_value_after_operator() {
        let e = err(r#"{ $.a != && $.b = "y" }"#);
        assert_eq!(e.column, 10);
        assert_eq!(e.message, "expected a value after '!=', found '&&'");
        assert_eq!(
            e.to_string(),
            "filter pattern error at column 10: expected a value after '!=', found '&&'"
        );
    }

    #[test]
    fn error_relational_with_string() {
        let e = err(r#"{ $.code > "400" }"#);
        assert_eq!(e.column, 12);
        assert!(
            e.message
                .contains("strings can only be compared with '=' or '!='"),
            "{e}"
        );
        let e = err("{ $.code <= abc }");
        assert_eq!(e.column, 13);
    }

    #[test]
    fn error_unclosed_paren_and_brace() {
        let e = err("{ ($.a = 1 || $.b = 2 }");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("unclosed '('"), "{e}");
        let e = err("{ $.a = 1 && ($.b = 2");
        assert_eq!(e.column, 14);
        assert!(e.message.contains("unclosed '('"), "{e}");
        let e = err("{ $.a = 1");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unclosed '{'"), "{e}");
    }

    #[test]
    fn error_unterminated_string() {
        let e = err(r#"{ $.a = "abc }"#);
        assert_eq!(e.column, 9);
        assert!(e.message.contains("unterminated string"), "{e}");
    }

    #[test]
    fn error_regex() {
        let e = err("{ $.message = %bind: address already in use% }");
        assert_eq!(e.column, 15);
        assert!(
            e.message
                .contains("regular expressions %...% are not supported"),
            "{e}"
        );
    }

    #[test]
    fn error_bad_selectors_and_keywords() {
        let e = err(r#"{ $.a["x.y"] = 1 }"#);
        assert_eq!(e.column, 7);
        let e = err("{ $. = 1 }");
        assert_eq!(e.column, 5);
        let e = err("{ $.a is null }");
        assert_eq!(e.column, 7);
        let e = err("{ $.a NOT }");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("found '}'"), "{e}");
        let e = err("{ $.a EXISTS }");
        assert_eq!(e.column, 7);
    }

    #[test]
    fn error_columns_count_characters() {
        // "ü" is two bytes but one column.
        let e = err(r#"{ $.a = "ü" && $.b != }"#);
        assert_eq!(e.column, 23);
    }

    #[test]
    fn clone_is_independent() {
        let p = fp(LACEWORK_PATTERN);
        let q = p.clone();
        drop(p);
        assert!(q.matches(&audit("ResponseComplete", "/api/v1/pods")));
    }

    /// A pipeline event (read from its text) and the same event as a `Value` pass the same
    /// patterns: the corpus, and members that are escaped, repeated, not strings or absent.
    #[test]
    fn pipeline_events_match_as_their_value_trees_do() {
        use crate::pipeline::event::AuditEvent;
        let patterns = [
            LACEWORK_PATTERN,
            r#"{ $.verb = "get" || $.user.username = "system:*" }"#,
            r#"{ $.code = 200 || $.code = "200" || $.stage != "Panic" }"#,
            r#"{ $.requestURI = "*&watch=*" }"#,
            r#"{ $.flag IS TRUE && $.stage = "R*" }"#,
        ]
        .map(fp);
        let mut texts = crate::corpus::Corpus::messages(3, 600);
        texts.extend(
            [
                r#"{"stage":"ResponseComplete","requestURI":"/api?a=1\u0026watch=true"}"#,
                r#"{"stage":"Panic","stage":"ResponseComplete","requestURI":"/healthz"}"#,
                r#"{"stage":7,"code":200,"flag":true,"requestURI":["/version"]}"#,
                r#"{"st\u0061ge":"ResponseComplete","code":"200","verb":null}"#,
                r#"{"user":{"username":"system:node:a"},"verb":"get"}"#,
            ]
            .map(String::from),
        );
        let mut kept = 0;
        for text in &texts {
            let event = AuditEvent::parse(text).unwrap();
            let tree: Value = serde_json::from_str(text).unwrap();
            for p in &patterns {
                assert_eq!(
                    p.matches(&event),
                    p.matches(&tree),
                    "{} on {text}",
                    p.source()
                );
                kept += usize::from(p.matches(&event));
            }
        }
        assert!(kept > 600, "{kept} matches");
    }
}
