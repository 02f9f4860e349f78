//! Stage 1: the CloudWatch Logs subscription payload → [`LogsData`], bounded.
//!
//! `{"awslogs":{"data":"<base64 of gzip of JSON>"}}`. Every way this can fail is a
//! [`QuarantineReason`]: a retry cannot fix a payload, so the caller writes it to
//! quarantine and the invocation succeeds.

use std::io::Read;

use base64::Engine;
use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

/// Default bound on the inflated size of one payload: 64 MiB.
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;
/// No more log events than this are accepted from one payload (Lambda's 1 MB payload
/// limit fits a few thousand realistic events — 2,500 of the bench corpus's, or ~10k
/// small ones; this leaves a wide margin).
pub const MAX_LOG_EVENTS: usize = 1_000_000;
/// serde_json's own recursion limit (128) bounds the nesting depth of every JSON decode.
pub const JSON_DEPTH_LIMIT: usize = 128;

/// The decoded subscription message (`aws_lambda_events`' `LogData` is `non_exhaustive`
/// and cannot be built by the CLI, so the project owns this small type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsData {
    #[serde(default)]
    pub message_type: String,
    #[serde(default)]
    pub owner: String,
    #[serde(default)]
    pub log_group: String,
    #[serde(default)]
    pub log_stream: String,
    #[serde(default)]
    pub subscription_filters: Vec<String>,
    #[serde(default)]
    pub log_events: Vec<LogEvent>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    pub id: String,
    pub timestamp: i64,
    pub message: String,
}

pub const DATA_MESSAGE: &str = "DATA_MESSAGE";
pub const CONTROL_MESSAGE: &str = "CONTROL_MESSAGE";

/// What a payload turned out to be.
#[derive(Debug)]
pub enum Decoded {
    /// CloudWatch's reachability probe: acknowledged, counted, nothing archived.
    Control,
    Data(LogsData),
}

/// Why a payload was quarantined. The `code` is stable (metrics, object metadata).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuarantineReason {
    #[error("payload has no awslogs.data string")]
    MissingData,
    #[error("awslogs.data is not valid base64: {0}")]
    BadBase64(String),
    #[error("awslogs.data is not gzip (magic bytes {0:02x?})")]
    NotGzip(Vec<u8>),
    #[error("gzip stream is corrupt or truncated: {0}")]
    BadGzip(String),
    #[error("inflated payload exceeds the {limit}-byte bound (MAX_INFLATED_BYTES)")]
    TooLarge { limit: u64 },
    #[error("inflated payload is not a CloudWatch Logs message: {0}")]
    NotJson(String),
    #[error("unknown messageType {0:?}")]
    UnknownMessageType(String),
    #[error("payload holds {0} log events, more than the {MAX_LOG_EVENTS} accepted")]
    TooManyEvents(usize),
}

impl QuarantineReason {
    pub fn code(&self) -> &'static str {
        match self {
            QuarantineReason::MissingData => "missing-data",
            QuarantineReason::BadBase64(_) => "bad-base64",
            QuarantineReason::NotGzip(_) => "not-gzip",
            QuarantineReason::BadGzip(_) => "bad-gzip",
            QuarantineReason::TooLarge { .. } => "too-large",
            QuarantineReason::NotJson(_) => "not-json",
            QuarantineReason::UnknownMessageType(_) => "unknown-message-type",
            QuarantineReason::TooManyEvents(_) => "too-many-events",
        }
    }
}

/// Decodes a Lambda payload (`{"awslogs":{"data":…}}`); unknown fields are ignored.
pub fn decode_payload(
    payload: &serde_json::Value,
    max_inflated: u64,
) -> Result<Decoded, QuarantineReason> {
    decode_data(payload_data(payload)?, max_inflated)
}

/// Decodes the `awslogs.data` string: base64 → gzip → JSON.
pub fn decode_data(data: &str, max_inflated: u64) -> Result<Decoded, QuarantineReason> {
    parse_logs_data(&inflate_data(data, max_inflated)?)
}

/// base64 → gzip → the JSON bytes of the CloudWatch Logs message, bounded.
pub fn inflate_data(data: &str, max_inflated: u64) -> Result<Vec<u8>, QuarantineReason> {
    let data = data.trim().as_bytes();
    // What CloudWatch sends (padded standard base64) through the SIMD decoder (SSSE3/AVX2
    // or NEON, chosen at run time): a sixth of the scalar one's instructions. Anything it
    // refuses through the scalar one, which tolerates missing padding (hand-made
    // fixtures) and names what is wrong.
    if let Ok(compressed) = base64_simd::STANDARD.decode_to_vec(data) {
        return gunzip_bounded(&compressed, max_inflated);
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let compressed = engine
        .decode(data)
        .map_err(|e| QuarantineReason::BadBase64(e.to_string()))?;
    gunzip_bounded(&compressed, max_inflated)
}

/// The `awslogs.data` string of a payload.
pub fn payload_data(payload: &serde_json::Value) -> Result<&str, QuarantineReason> {
    payload
        .get("awslogs")
        .and_then(|a| a.get("data"))
        .and_then(|d| d.as_str())
        .ok_or(QuarantineReason::MissingData)
}

/// Inflates gzip (concatenated members allowed) but never more than `max` bytes.
pub fn gunzip_bounded(compressed: &[u8], max: u64) -> Result<Vec<u8>, QuarantineReason> {
    if compressed.len() < 2 || compressed[..2] != [0x1f, 0x8b] {
        return Err(QuarantineReason::NotGzip(
            compressed.iter().take(2).copied().collect(),
        ));
    }
    // The last four bytes of a gzip member are its size (mod 2^32): CloudWatch sends one
    // member, so the output is sized once instead of grown (and zeroed) step by step.
    // Only a hint: concatenated members or a wrong trailer just grow it as before, and
    // a trailer claiming more than deflate can expand to (1032:1) or than `max` is capped.
    let trailer: [u8; 4] = compressed[compressed.len().saturating_sub(4)..]
        .try_into()
        .unwrap_or_default();
    let hint = (u32::from_le_bytes(trailer) as usize)
        .clamp(compressed.len() * 4, compressed.len() * 1032)
        .min(max as usize);
    let mut out = Vec::with_capacity(hint + 1);
    let mut reader = MultiGzDecoder::new(compressed).take(max + 1);
    reader
        .read_to_end(&mut out)
        .map_err(|e| QuarantineReason::BadGzip(e.to_string()))?;
    if out.len() as u64 > max {
        return Err(QuarantineReason::TooLarge { limit: max });
    }
    Ok(out)
}

/// Parses inflated JSON into a [`LogsData`] and classifies its message type: the one-pass
/// [`super::envelope`] scan for what CloudWatch writes, serde_json for anything else (and
/// for the error message).
pub fn parse_logs_data(json: &[u8]) -> Result<Decoded, QuarantineReason> {
    let data = match super::envelope::scan(json) {
        Some(data) => data,
        None => serde_json::from_slice::<LogsData>(json)
            .map_err(|e| QuarantineReason::NotJson(e.to_string()))?,
    };
    match data.message_type.as_str() {
        CONTROL_MESSAGE => Ok(Decoded::Control),
        DATA_MESSAGE => {
            if data.log_events.len() > MAX_LOG_EVENTS {
                return Err(QuarantineReason::TooManyEvents(data.log_events.len()));
            }
            Ok(Decoded::Data(data))
        }
        other => Err(QuarantineReason::UnknownMessageType(other.to_string())),
    }
}

/// Builds a subscription payload the way CloudWatch does (padded base64 of gzip of JSON).
/// Used by `pack`, the tests and the benchmark corpus.
pub fn encode_payload(data: &LogsData) -> serde_json::Value {
    use std::io::Write;
    let json = serde_json::to_vec(data).expect("LogsData serialises");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&json).expect("in-memory write");
    let compressed = gz.finish().expect("in-memory gzip");
    let b64 = base64::engine::general_purpose::STANDARD.encode(compressed);
    serde_json::json!({ "awslogs": { "data": b64 } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::json;

    fn sample() -> LogsData {
        LogsData {
            message_type: DATA_MESSAGE.into(),
            owner: "111122223333".into(),
            log_group: "/aws/eks/prod-eu-1/cluster".into(),
            log_stream: "kube-apiserver-audit-0123".into(),
            subscription_filters: vec!["f".into()],
            log_events: vec![LogEvent {
                id: "1".into(),
                timestamp: 1,
                message: "{}".into(),
            }],
        }
    }

    #[test]
    fn a_message_that_is_not_a_string_is_not_json() {
        let bad =
            br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":7}]}"#;
        assert!(matches!(
            parse_logs_data(bad),
            Err(QuarantineReason::NotJson(_))
        ));
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn round_trips_a_data_message_and_ignores_unknown_fields() {
        let payload = encode_payload(&sample());
        match decode_payload(&payload, DEFAULT_MAX_INFLATED_BYTES).unwrap() {
            Decoded::Data(d) => assert_eq!(d, sample()),
            Decoded::Control => panic!("expected data"),
        }
        let mut v = serde_json::to_value(sample()).unwrap();
        v["somethingNew"] = json!({"x": 1});
        let data = STANDARD.encode(gzip(v.to_string().as_bytes()));
        assert!(matches!(
            decode_payload(&json!({"awslogs": {"data": data}, "extra": 1}), 1 << 20),
            Ok(Decoded::Data(_))
        ));
        // Padded (what CloudWatch sends: the SIMD decoder), unpadded and with surrounding
        // whitespace (hand-made fixtures: the scalar one) all read the same.
        let padded = STANDARD.encode(gzip(b"{\"messageType\":\"CONTROL_MESSAGE\"}"));
        assert!(padded.ends_with('='), "{padded}");
        for data in [
            padded.clone(),
            padded.trim_end_matches('=').to_string(),
            format!(" {padded}\n"),
        ] {
            assert!(
                matches!(
                    decode_payload(&json!({"awslogs": {"data": &data}}), 1 << 20),
                    Ok(Decoded::Control)
                ),
                "{data:?}"
            );
        }
    }

    #[test]
    fn control_message_is_recognised() {
        let mut d = sample();
        d.message_type = CONTROL_MESSAGE.into();
        d.log_events[0].message = "CWL CONTROL MESSAGE: Checking health of destination".into();
        assert!(matches!(
            decode_payload(&encode_payload(&d), 1 << 20),
            Ok(Decoded::Control)
        ));
    }

    #[test]
    fn every_bad_payload_has_its_reason() {
        let bound = 1 << 20;
        let r = |v: serde_json::Value| decode_payload(&v, bound).unwrap_err().code();
        assert_eq!(r(json!({"hello": "world"})), "missing-data");
        assert_eq!(r(json!({"awslogs": {"data": 42}})), "missing-data");
        assert_eq!(
            r(json!({"awslogs": {"data": "!!not base64!!"}})),
            "bad-base64"
        );
        let plain = STANDARD.encode(b"{\"messageType\":\"DATA_MESSAGE\"}");
        assert_eq!(r(json!({"awslogs": {"data": plain}})), "not-gzip");
        let full = gzip(serde_json::to_string(&sample()).unwrap().as_bytes());
        let truncated = STANDARD.encode(&full[..full.len() - 12]);
        assert_eq!(r(json!({"awslogs": {"data": truncated}})), "bad-gzip");
        let not_json = STANDARD.encode(gzip(b"this is not json"));
        assert_eq!(r(json!({"awslogs": {"data": not_json}})), "not-json");
        let wrong_type = STANDARD.encode(gzip(b"{\"messageType\":\"WHAT\"}"));
        assert_eq!(
            r(json!({"awslogs": {"data": wrong_type}})),
            "unknown-message-type"
        );
    }

    #[test]
    fn inflated_size_is_bounded() {
        // 2 MiB of zeros compresses to ~2 KiB: a gzip bomb in miniature.
        let bomb = STANDARD.encode(gzip(&vec![b' '; 2 << 20]));
        let err = decode_payload(&json!({"awslogs": {"data": bomb}}), 1 << 20).unwrap_err();
        assert_eq!(err, QuarantineReason::TooLarge { limit: 1 << 20 });
        assert!(err.to_string().contains("MAX_INFLATED_BYTES"));
    }

    /// The size in the gzip trailer only sizes the buffer: concatenated members, and a
    /// trailer claiming far more or far less than the data, inflate all the same; the
    /// bound holds whatever it says.
    #[test]
    fn the_size_trailer_is_only_a_hint() {
        let text: Vec<u8> = (0..50_000u32).flat_map(|n| n.to_le_bytes()).collect();
        let one = gzip(&text);
        let mut two = one.clone();
        two.extend_from_slice(&gzip(b"tail"));
        let with_size = |size: u32| {
            let mut g = one.clone();
            let at = g.len() - 4;
            g[at..].copy_from_slice(&size.to_le_bytes());
            g
        };
        assert_eq!(gunzip_bounded(&one, 1 << 20).unwrap(), text);
        let mut both = text.clone();
        both.extend_from_slice(b"tail");
        assert_eq!(gunzip_bounded(&two, 1 << 20).unwrap(), both);
        // A wrong size fails the member's own check (as before), whichever way it is wrong,
        // and never sizes the buffer past the bound.
        for size in [0, 1, 4_000, u32::MAX] {
            assert!(
                matches!(
                    gunzip_bounded(&with_size(size), 1 << 20),
                    Err(QuarantineReason::BadGzip(_))
                ),
                "{size}"
            );
        }
        assert_eq!(
            gunzip_bounded(&one, 1000),
            Err(QuarantineReason::TooLarge { limit: 1000 })
        );
    }

    #[test]
    fn deep_nesting_is_not_a_stack_overflow() {
        // An unknown, absurdly deep member is skipped without recursion...
        let deep = format!(
            "{{\"messageType\":\"DATA_MESSAGE\",\"x\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(matches!(
            parse_logs_data(deep.as_bytes()),
            Ok(Decoded::Data(_))
        ));
        // ...and where a value is built, serde_json's depth limit (128) refuses it.
        let deep_event = format!(
            "{}{}",
            "[".repeat(JSON_DEPTH_LIMIT + 1),
            "]".repeat(JSON_DEPTH_LIMIT + 1)
        );
        assert!(serde_json::from_str::<serde_json::Value>(&deep_event).is_err());
    }
}
