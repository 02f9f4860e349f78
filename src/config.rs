//! Environment → [`Config`], every value validated at cold start. A bad value fails
//! with one line naming the variable and what it expected.

use crate::archive::ArchiveCodec;
use crate::filter_pattern::{FilterPattern, LACEWORK_PATTERN};
use crate::pipeline::PipelineOptions;
use crate::pipeline::batch::BatchThresholds;
use crate::pipeline::decode::DEFAULT_MAX_INFLATED_BYTES;
use crate::pipeline::ipintel::CidrSet;
use crate::rules::RuleMatching;
use crate::severity::Severity;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub archive_bucket: String,
    pub alert_topic_arn: String,
    pub min_alert_severity: Severity,
    pub alert_sample_events: usize,
    pub filter: FilterPattern,
    pub pipeline: PipelineOptions,
    /// Extra rule files loaded after the built-in pack, in order.
    pub rules_files: Vec<RulesLocation>,
    pub tls_roots: TrustRoots,
}

/// The root certificates the SDK's HTTPS client trusts (`TLS_ROOTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustRoots {
    /// Amazon Trust Services' five roots (Amazon Root CA 1–4 and Starfield Services Root
    /// Certificate Authority – G2, the set ATS asks custom trust stores to hold): AWS's own
    /// certificate authority, which signs the AWS endpoints — regional, FIPS, dual-stack
    /// and VPC endpoints alike.
    Amazon,
    /// Mozilla's root program (`webpki-root-certs`, ~120 roots), for an endpoint that may
    /// carry anyone's certificate.
    Mozilla,
}

impl TrustRoots {
    /// Variables that point the SDK somewhere other than AWS's own endpoints, for the
    /// services the function calls (STS only through the default credentials chain).
    pub(crate) const ENDPOINT_VARIABLES: [&str; 4] = [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_STS",
    ];

    pub fn from_env() -> Result<TrustRoots, ConfigError> {
        TrustRoots::from_lookup(|k| std::env::var(k).ok())
    }

    /// `TLS_ROOTS` is `amazon`, `mozilla` or `auto` (the default). `auto` trusts Amazon's
    /// roots — fewer roots to copy at cold start and to parse on the first connection, and
    /// no other certificate authority can vouch for an AWS endpoint — unless an endpoint
    /// URL is configured (moto, LocalStack, a proxy: anyone's certificate) or the region is
    /// in China (`cn-`, run by local partners apart from AWS's global partitions), where it
    /// trusts Mozilla's.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<TrustRoots, ConfigError> {
        let get = |k: &str| value(&lookup, k);
        match get("TLS_ROOTS").as_deref() {
            None | Some("auto") => {}
            Some("amazon") => return Ok(TrustRoots::Amazon),
            Some("mozilla") => return Ok(TrustRoots::Mozilla),
            Some(v) => {
                return Err(bad(
                    "TLS_ROOTS",
                    format!("expected auto, amazon or mozilla, got {v:?}"),
                ));
            }
        }
        let custom_endpoint = ["S3", "SNS", "STS"]
            .iter()
            .any(|service| endpoint_configured(&lookup, service));
        let china = get("AWS_REGION")
            .or_else(|| get("AWS_DEFAULT_REGION"))
            .is_some_and(|r| r.starts_with("cn-"));
        Ok(if custom_endpoint || china {
            TrustRoots::Mozilla
        } else {
            TrustRoots::Amazon
        })
    }
}

/// Where a custom rules file lives: in the deployment package or in S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesLocation {
    Path(std::path::PathBuf),
    S3 { bucket: String, key: String },
}

impl std::fmt::Display for RulesLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RulesLocation::Path(p) => write!(f, "{}", p.display()),
            RulesLocation::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

impl std::str::FromStr for RulesLocation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("s3://") {
            return match rest.split_once('/') {
                Some((bucket, key)) if valid_bucket(bucket) && !key.is_empty() => {
                    Ok(RulesLocation::S3 {
                        bucket: bucket.to_string(),
                        key: key.to_string(),
                    })
                }
                _ => Err(format!("expected s3://<bucket>/<key>, got {s:?}")),
            };
        }
        if s.is_empty() {
            return Err("empty entry".into());
        }
        Ok(RulesLocation::Path(s.into()))
    }
}

/// Every variable the function reads, with its default and meaning: the README's
/// Configuration table and the SAM template's parameters are checked against it.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "ARCHIVE_BUCKET",
        "(required)",
        "S3 bucket for archive and quarantine objects",
    ),
    (
        "ALERT_TOPIC_ARN",
        "(required)",
        "SNS topic ARN for alerts (`.fifo` topics get group and dedup ids)",
    ),
    ("ARCHIVE_PREFIX", "audit", "key prefix of archive objects"),
    (
        "QUARANTINE_PREFIX",
        "quarantine",
        "key prefix of undecodable payloads",
    ),
    (
        "MIN_ALERT_SEVERITY",
        "medium",
        "info|low|medium|high|critical: lowest severity that alerts",
    ),
    ("ALERT_SAMPLE_EVENTS", "3", "events listed per alert (1-50)"),
    (
        "FILTER_PATTERN",
        "the Lacework pattern",
        "CloudWatch Logs JSON filter pattern; empty keeps everything",
    ),
    (
        "CLUSTER_NAME",
        "(none)",
        "cluster name when the log group is not /aws/eks/<cluster>/cluster",
    ),
    (
        "MAX_INFLATED_BYTES",
        "67108864",
        "bound on one payload's inflated size (1024-1073741824)",
    ),
    (
        "ARCHIVE_CODEC",
        "gzip",
        "archive compression: gzip (.ndjson.gz) or zstd (.ndjson.zst); Athena reads both",
    ),
    (
        "ARCHIVE_GZIP_LEVEL",
        "6",
        "gzip level of archive objects (1-9)",
    ),
    (
        "ARCHIVE_ZSTD_LEVEL",
        "3",
        "zstd level of archive objects (1-19)",
    ),
    (
        "RULE_MATCHING",
        "all",
        "all: every matching rule fires; first: only the first (Falco's default)",
    ),
    (
        "RULES_FILES",
        "",
        "comma-separated rule files loaded after the built-in pack: package paths or s3:// URIs",
    ),
    (
        "BATCH_THRESHOLDS",
        "forbidden=10,discovery=8,secret-reads=10,anonymous=5",
        "within-batch detection thresholds; 0 switches one off",
    ),
    (
        "TRUSTED_CIDRS",
        "",
        "comma-separated CIDRs of your own egress for the public-IP rules",
    ),
    (
        "TLS_ROOTS",
        "auto",
        "auto|amazon|mozilla: roots trusted for HTTPS; auto is amazon unless an endpoint URL is set or the region is cn-*",
    ),
];

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|k| std::env::var(k).ok())
    }

    /// `lookup` returns a variable's value; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |k: &str| value(&lookup, k);

        let archive_bucket = get("ARCHIVE_BUCKET").ok_or_else(|| {
            bad(
                "ARCHIVE_BUCKET",
                "required: the S3 bucket name for the archive",
            )
        })?;
        if !valid_bucket(&archive_bucket) {
            return Err(bad(
                "ARCHIVE_BUCKET",
                format!("expected an S3 bucket name (3-63 of a-z 0-9 . -), got {archive_bucket:?}"),
            ));
        }
        let alert_topic_arn = get("ALERT_TOPIC_ARN")
            .ok_or_else(|| bad("ALERT_TOPIC_ARN", "required: the SNS topic ARN for alerts"))?;
        let parts: Vec<&str> = alert_topic_arn.split(':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5].is_empty() {
            return Err(bad(
                "ALERT_TOPIC_ARN",
                format!(
                    "expected arn:<partition>:sns:<region>:<account>:<topic>, got {alert_topic_arn:?}"
                ),
            ));
        }
        let min_alert_severity = match get("MIN_ALERT_SEVERITY") {
            None => Severity::Medium,
            Some(v) => Severity::parse(&v).ok_or_else(|| {
                bad(
                    "MIN_ALERT_SEVERITY",
                    format!("expected info, low, medium, high or critical, got {v:?}"),
                )
            })?,
        };
        let alert_sample_events = number(&get, "ALERT_SAMPLE_EVENTS", 3, 1, 50)? as usize;
        // FILTER_PATTERN set but empty means "keep everything", unlike other variables.
        let pattern = match lookup("FILTER_PATTERN") {
            None => LACEWORK_PATTERN.to_string(),
            Some(p) => p,
        };
        let filter =
            FilterPattern::parse(&pattern).map_err(|e| bad("FILTER_PATTERN", e.to_string()))?;
        let archive_prefix = prefix(&get, "ARCHIVE_PREFIX", "audit")?;
        let quarantine_prefix = prefix(&get, "QUARANTINE_PREFIX", "quarantine")?;
        if archive_prefix == quarantine_prefix {
            return Err(bad("QUARANTINE_PREFIX", "must differ from ARCHIVE_PREFIX"));
        }
        let max_inflated_bytes = number(
            &get,
            "MAX_INFLATED_BYTES",
            DEFAULT_MAX_INFLATED_BYTES,
            1024,
            1 << 30,
        )?;
        let archive_codec = match get("ARCHIVE_CODEC").as_deref() {
            None => ArchiveCodec::Gzip,
            Some(v) => ArchiveCodec::parse(v)
                .ok_or_else(|| bad("ARCHIVE_CODEC", format!("expected gzip or zstd, got {v:?}")))?,
        };
        let gzip_level = number(&get, "ARCHIVE_GZIP_LEVEL", 6, 1, 9)? as u32;
        let zstd_level = number(&get, "ARCHIVE_ZSTD_LEVEL", 3, 1, 19)? as i32;
        let rule_matching = match get("RULE_MATCHING").as_deref() {
            None | Some("all") => RuleMatching::All,
            Some("first") => RuleMatching::First,
            Some(v) => {
                return Err(bad(
                    "RULE_MATCHING",
                    format!("expected all or first, got {v:?}"),
                ));
            }
        };
        let batch_thresholds = match get("BATCH_THRESHOLDS") {
            None => BatchThresholds::default(),
            Some(v) => v.parse().map_err(|e| bad("BATCH_THRESHOLDS", e))?,
        };
        let trusted_cidrs = match get("TRUSTED_CIDRS") {
            None => CidrSet::default(),
            Some(v) => CidrSet::parse_list(&v.replace(',', "\n")).map_err(|e| {
                bad(
                    "TRUSTED_CIDRS",
                    format!("expected comma-separated CIDRs: {e}"),
                )
            })?,
        };
        let rules_files = match get("RULES_FILES") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| {
                    p.parse::<RulesLocation>()
                        .map_err(|e| bad("RULES_FILES", e))
                })
                .collect::<Result<_, _>>()?,
        };
        let tls_roots = TrustRoots::from_lookup(&lookup)?;
        Ok(Config {
            rules_files,
            tls_roots,
            archive_bucket,
            alert_topic_arn,
            min_alert_severity,
            alert_sample_events,
            filter,
            pipeline: PipelineOptions {
                max_inflated_bytes,
                default_cluster: get("CLUSTER_NAME"),
                region: get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")),
                archive_prefix,
                quarantine_prefix,
                archive_codec,
                gzip_level,
                zstd_level,
                rule_matching,
                batch_thresholds,
                trusted_cidrs,
            },
        })
    }
}

/// A variable's value, trimmed; `None` when unset or empty.
/// Whether the SDK is pointed away from AWS's own endpoint for `service` (`S3`, `SNS`,
/// `STS`), read as the SDK reads it: `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`,
/// both disregarded under `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`.
pub fn endpoint_configured(lookup: &impl Fn(&str) -> Option<String>, service: &str) -> bool {
    let ignored = value(lookup, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    !ignored
        && (value(lookup, "AWS_ENDPOINT_URL").is_some()
            || value(lookup, &format!("AWS_ENDPOINT_URL_{service}")).is_some())
}

fn value(lookup: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    lookup(var)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    match get(var) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(bad(
                var,
                format!("expected a whole number from {min} to {max}, got {v:?}"),
            )),
        },
    }
}

fn prefix(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let v = get(var).unwrap_or_else(|| default.to_string());
    let ok = !v.starts_with('/')
        && !v.ends_with('/')
        && !v.contains("//")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=".contains(c));
    if ok {
        Ok(v)
    } else {
        Err(bad(
            var,
            format!(
                "expected an S3 key prefix like \"audit\" or \"eks/audit\" (no leading or trailing /), got {v:?}"
            ),
        ))
    }
}

fn valid_bucket(b: &str) -> bool {
    (3..=63).contains(&b.len())
        && b.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut env: HashMap<String, String> = [
            ("ARCHIVE_BUCKET", "audit-archive"),
            (
                "ALERT_TOPIC_ARN",
                "arn:aws:sns:eu-west-1:111122223333:alerts",
            ),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in pairs {
            env.insert(k.to_string(), v.to_string());
        }
        Config::from_lookup(|k| env.get(k).cloned())
    }

    #[test]
    fn defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.min_alert_severity, Severity::Medium);
        assert_eq!(c.filter.source(), LACEWORK_PATTERN);
        assert_eq!(c.pipeline.archive_prefix, "audit");
        assert_eq!(c.pipeline.max_inflated_bytes, 64 * 1024 * 1024);
        assert_eq!(c.pipeline.rule_matching, RuleMatching::All);
        assert_eq!(c.pipeline.archive_codec, ArchiveCodec::Gzip);
        let z = with(&[("ARCHIVE_CODEC", "zstd"), ("ARCHIVE_ZSTD_LEVEL", "9")]).unwrap();
        assert_eq!(
            (z.pipeline.archive_codec, z.pipeline.zstd_level),
            (ArchiveCodec::Zstd, 9)
        );
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        let cases: &[(&str, &str)] = &[
            ("ARCHIVE_BUCKET", "Not_A_Bucket"),
            ("ALERT_TOPIC_ARN", "alerts"),
            ("MIN_ALERT_SEVERITY", "loud"),
            ("ALERT_SAMPLE_EVENTS", "0"),
            ("FILTER_PATTERN", "{ $.stage = }"),
            ("ARCHIVE_PREFIX", "/audit/"),
            ("MAX_INFLATED_BYTES", "lots"),
            ("ARCHIVE_GZIP_LEVEL", "11"),
            ("ARCHIVE_CODEC", "lz4"),
            ("ARCHIVE_ZSTD_LEVEL", "22"),
            ("RULE_MATCHING", "some"),
            ("BATCH_THRESHOLDS", "forbidden=lots"),
            ("TRUSTED_CIDRS", "10.0.0.0/8,nope"),
            ("RULES_FILES", "s3://Bad_Bucket/x.yaml"),
            ("TLS_ROOTS", "system"),
        ];
        for (var, value) in cases {
            let err = with(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, *var);
            let line = err.to_string();
            assert!(line.starts_with(var) && !line.contains('\n'), "{line}");
        }
        let missing = Config::from_lookup(|_| None).unwrap_err();
        assert_eq!(missing.var, "ARCHIVE_BUCKET");
    }

    #[test]
    fn rules_files_thresholds_and_trusted_cidrs() {
        let c = with(&[
            (
                "RULES_FILES",
                "rules/extra.yaml, s3://my-rules/eks/custom.yaml",
            ),
            ("BATCH_THRESHOLDS", "forbidden=3"),
            ("TRUSTED_CIDRS", "198.51.100.0/24, 2001:db8::/32"),
        ])
        .unwrap();
        assert_eq!(
            c.rules_files,
            vec![
                RulesLocation::Path("rules/extra.yaml".into()),
                RulesLocation::S3 {
                    bucket: "my-rules".into(),
                    key: "eks/custom.yaml".into()
                }
            ]
        );
        assert_eq!(c.pipeline.batch_thresholds.forbidden, 3);
        assert!(
            c.pipeline
                .trusted_cidrs
                .contains("198.51.100.9".parse().unwrap())
        );
    }

    /// AWS's own endpoints get Amazon's roots; a configured endpoint or a China region gets
    /// Mozilla's; `TLS_ROOTS` overrides the choice either way.
    #[test]
    fn trusted_roots_follow_the_endpoints() {
        let roots = |pairs: &[(&str, &str)]| with(pairs).unwrap().tls_roots;
        use TrustRoots::{Amazon, Mozilla};
        assert_eq!(roots(&[]), Amazon);
        assert_eq!(roots(&[("AWS_REGION", "us-gov-west-1")]), Amazon);
        assert_eq!(roots(&[("AWS_REGION", "cn-north-1")]), Mozilla);
        assert_eq!(roots(&[("AWS_DEFAULT_REGION", "cn-northwest-1")]), Mozilla);
        for var in TrustRoots::ENDPOINT_VARIABLES {
            assert_eq!(roots(&[(var, "http://127.0.0.1:5000")]), Mozilla, "{var}");
        }
        assert_eq!(roots(&[("AWS_ENDPOINT_URL_S3", "")]), Amazon);
        let ignored = [
            ("AWS_ENDPOINT_URL_S3", "https://s3.example.com"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
        ];
        assert_eq!(roots(&ignored), Amazon);
        assert_eq!(roots(&[("TLS_ROOTS", "mozilla")]), Mozilla);
        assert_eq!(roots(&[("TLS_ROOTS", "auto")]), Amazon);
        let pinned = [("TLS_ROOTS", "amazon"), ("AWS_REGION", "cn-north-1")];
        assert_eq!(roots(&pinned), Amazon);
        // What the bench's SDK reference reads: the same choice from the same variables.
        let env: HashMap<&str, &str> = [("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")].into();
        let lookup = |k: &str| env.get(k).map(|v| v.to_string());
        assert_eq!(TrustRoots::from_lookup(lookup), Ok(Mozilla));
    }

    /// `VARIABLES` is the whole list: every variable `Config` reads (other than the SDK's
    /// own `AWS_*`) is in it, and each has its row in the README's Configuration table.
    #[test]
    fn variables_lists_what_is_read_and_the_readme_documents_it() {
        let asked = std::cell::RefCell::new(Vec::<String>::new());
        let required = [
            ("ARCHIVE_BUCKET", "audit-archive"),
            (
                "ALERT_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
        ];
        Config::from_lookup(|k| {
            asked.borrow_mut().push(k.to_string());
            required
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        })
        .unwrap();
        let listed: Vec<&str> = VARIABLES.iter().map(|(n, _, _)| *n).collect();
        let asked = asked.into_inner();
        for name in asked.iter().filter(|n| !n.starts_with("AWS_")) {
            assert!(
                listed.contains(&name.as_str()),
                "{name} is read but not in VARIABLES"
            );
        }
        let readme = include_str!("../README.md");
        for name in &listed {
            assert!(
                asked.iter().any(|n| n == name),
                "{name} is listed but never read"
            );
            assert!(
                readme.contains(&format!("| `{name}` |")),
                "README's Configuration table has no row for {name}"
            );
        }
    }

    /// S3's path-style addressing and the trust choice ask the same question of the same
    /// variables, per service.
    #[test]
    fn endpoint_configured_per_service() {
        let configured = |pairs: &[(&str, &str)], service: &str| {
            let env: HashMap<&str, &str> = pairs.iter().copied().collect();
            endpoint_configured(&|k: &str| env.get(k).map(|v| v.to_string()), service)
        };
        let sns_only = [("AWS_ENDPOINT_URL_SNS", "http://127.0.0.1:5000")];
        assert!(configured(&sns_only, "SNS"));
        assert!(!configured(&sns_only, "S3"));
        let global = [("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")];
        assert!(configured(&global, "S3") && configured(&global, "STS"));
        assert!(!configured(&[("AWS_ENDPOINT_URL_S3", " ")], "S3"));
        let ignored = [
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
            ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"),
        ];
        assert!(!configured(&ignored, "S3"));
        assert!(!configured(&[], "S3"));
    }

    #[test]
    fn empty_filter_pattern_keeps_everything() {
        let c = with(&[("FILTER_PATTERN", "")]).unwrap();
        assert!(c.filter.matches_everything());
    }
}
