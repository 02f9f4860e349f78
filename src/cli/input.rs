//! Reading what users point the CLI at: a Lambda payload (`{"awslogs":…}`), a decoded
//! LogsData JSON, NDJSON audit events (or a JSON array of them), plain or gzip — all
//! detected from the content, so a user never has to say which.

use std::io::Read;

use serde_json::Value;

use crate::pipeline::decode::{self, DATA_MESSAGE, Decoded, LogEvent, LogsData};
use crate::pipeline::event::AuditEvent;
use crate::timefmt;

/// NDJSON is cut into batches of this many events, like CloudWatch's larger batches.
pub const NDJSON_BATCH_EVENTS: usize = 10_000;
/// The CLI may read large exports: bound inflation far above the Lambda's default.
pub const DEFAULT_CLI_MAX_INFLATED: u64 = 4 << 30;

/// An error a person can act on: `file:line: message`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct InputError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// One unit the pipeline processes.
#[derive(Debug)]
pub enum Batch {
    /// A Lambda payload, kept raw so an undecodable one can be quarantined verbatim.
    Payload {
        value: Value,
        raw: Vec<u8>,
    },
    Decoded(Decoded),
}

#[derive(Debug)]
pub struct Input {
    pub name: String,
    pub bytes: u64,
    pub batches: Vec<Batch>,
    /// `file:line: …` notes for lines kept as unparseable.
    pub warnings: Vec<String>,
}

/// Options for turning bare audit events into a batch.
#[derive(Debug, Clone)]
pub struct NdjsonOptions {
    pub owner: String,
    pub log_group: String,
    /// `None`: derived from the file name.
    pub log_stream: Option<String>,
}

impl Default for NdjsonOptions {
    fn default() -> Self {
        NdjsonOptions {
            owner: "000000000000".into(),
            log_group: "/aws/eks/unknown/cluster".into(),
            log_stream: None,
        }
    }
}

pub fn read_path(path: &str, max_inflated: u64) -> Result<(String, Vec<u8>), InputError> {
    let err = |message: String| InputError {
        file: path.to_string(),
        line: 0,
        message,
    };
    let mut raw = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .map_err(|e| err(format!("cannot read standard input: {e}")))?;
    } else {
        raw = std::fs::read(path).map_err(|e| err(format!("cannot read: {e}")))?;
    }
    let name = if path == "-" {
        "<stdin>".to_string()
    } else {
        path.to_string()
    };
    if raw.starts_with(&[0x1f, 0x8b]) {
        raw = decode::gunzip_bounded(&raw, max_inflated).map_err(|e| InputError {
            file: name.clone(),
            line: 1,
            message: format!("gzip input: {e}"),
        })?;
    }
    Ok((name, raw))
}

pub fn load(path: &str, max_inflated: u64, nd: &NdjsonOptions) -> Result<Input, InputError> {
    let (name, raw) = read_path(path, max_inflated)?;
    parse_input(&name, raw, nd)
}

pub fn parse_input(name: &str, raw: Vec<u8>, nd: &NdjsonOptions) -> Result<Input, InputError> {
    let bytes = raw.len() as u64;
    let at = |line: usize, message: String| InputError {
        file: name.to_string(),
        line,
        message,
    };
    let text = std::str::from_utf8(&raw).map_err(|e| {
        let line = raw[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        at(line, format!("not UTF-8 text: {e}"))
    })?;
    let trimmed = text.trim_start();
    let mut input = Input {
        name: name.to_string(),
        bytes,
        batches: Vec::new(),
        warnings: Vec::new(),
    };
    if trimmed.is_empty() {
        return Ok(input);
    }
    // A whole-file JSON document: payload, LogsData, one event, or an array of events.
    if let Ok(doc) = serde_json::from_str::<Value>(text) {
        if doc.get("awslogs").is_some() {
            input.batches.push(Batch::Payload {
                raw: raw.clone(),
                value: doc,
            });
            return Ok(input);
        }
        if doc.get("logEvents").is_some() || doc.get("messageType").is_some() {
            let decoded = decode::parse_logs_data(text.as_bytes())
                .map_err(|e| at(1, format!("CloudWatch Logs message: {e}")))?;
            input.batches.push(Batch::Decoded(decoded));
            return Ok(input);
        }
        if let Value::Array(items) = &doc {
            let lines: Vec<(usize, String)> = items.iter().map(|v| (1, v.to_string())).collect();
            return events_to_batches(input, lines, nd);
        }
    }
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l.to_string()))
        .collect();
    if let Some((line, first)) = lines.first()
        && !first.trim_start().starts_with('{')
    {
        return Err(at(
            *line,
            "expected a Lambda payload ({\"awslogs\":…}), CloudWatch Logs JSON, or NDJSON audit events".into(),
        ));
    }
    events_to_batches(input, lines, nd)
}

fn events_to_batches(
    mut input: Input,
    lines: Vec<(usize, String)>,
    nd: &NdjsonOptions,
) -> Result<Input, InputError> {
    let stream = nd
        .log_stream
        .clone()
        .unwrap_or_else(|| stream_name(&input.name));
    let mut fallback_ms = 0i64;
    for chunk in lines.chunks(NDJSON_BATCH_EVENTS) {
        let mut events = Vec::with_capacity(chunk.len());
        for (line, message) in chunk {
            let ts = match AuditEvent::parse(message) {
                Ok(ev) => timefmt::parse_rfc3339_micros(ev.time())
                    .map(|us| us / 1000)
                    .unwrap_or(fallback_ms),
                Err(e) => {
                    input
                        .warnings
                        .push(format!("{}:{line}: kept as unparseable: {e}", input.name));
                    fallback_ms
                }
            };
            fallback_ms = ts;
            events.push(LogEvent {
                id: synthetic_event_id(ts, *line),
                timestamp: ts,
                message: message.clone(),
            });
        }
        input.batches.push(Batch::Decoded(Decoded::Data(LogsData {
            message_type: DATA_MESSAGE.into(),
            owner: nd.owner.clone(),
            log_group: nd.log_group.clone(),
            log_stream: stream.clone(),
            subscription_filters: vec!["eks-audit-watch-cli".into()],
            log_events: events,
        })));
    }
    Ok(input)
}

/// CloudWatch event ids are 56-digit decimal strings; ours sort by time, then line.
pub fn synthetic_event_id(timestamp_ms: i64, line: usize) -> String {
    format!("{:036}{:020}", timestamp_ms.max(0), line)
}

fn stream_name(file: &str) -> String {
    let base = std::path::Path::new(file)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stdin".into());
    let stem = base
        .trim_end_matches(".gz")
        .trim_end_matches(".ndjson")
        .trim_end_matches(".jsonl")
        .trim_end_matches(".json")
        .to_string();
    format!("file-{stem}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Input, InputError> {
        parse_input(
            "t.ndjson",
            text.as_bytes().to_vec(),
            &NdjsonOptions::default(),
        )
    }

    const EV: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","stage":"ResponseComplete","stageTimestamp":"2026-11-24T10:15:30.123456Z"}"#;

    #[test]
    fn detects_each_input_kind() {
        let nd = parse(&format!("{EV}\n\n{EV}\n")).unwrap();
        let Batch::Decoded(Decoded::Data(d)) = &nd.batches[0] else {
            panic!()
        };
        assert_eq!(d.log_events.len(), 2);
        assert_eq!(d.log_events[0].timestamp, 1_795_515_330_123);
        assert_eq!(d.log_events[1].id.len(), 56);
        assert_eq!(d.log_stream, "file-t");

        let payload = decode::encode_payload(&d.clone());
        let p = parse(&payload.to_string()).unwrap();
        assert!(matches!(p.batches[0], Batch::Payload { .. }));

        let logs = parse(&serde_json::to_string(d).unwrap()).unwrap();
        assert!(matches!(logs.batches[0], Batch::Decoded(Decoded::Data(_))));

        let arr = parse(&format!("[{EV},{EV}]")).unwrap();
        let Batch::Decoded(Decoded::Data(d)) = &arr.batches[0] else {
            panic!()
        };
        assert_eq!(d.log_events.len(), 2);
    }

    #[test]
    fn gzip_input_is_inflated() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(EV.as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ndjson.gz");
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let input = load(path.to_str().unwrap(), 1 << 20, &NdjsonOptions::default()).unwrap();
        assert_eq!(input.batches.len(), 1);
    }

    #[test]
    fn unusable_input_names_file_and_line() {
        let e = parse("\n\nhello world\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.ndjson:3: expected a Lambda payload ({\"awslogs\":…}), CloudWatch Logs JSON, or NDJSON audit events"
        );
        let missing = load("/nonexistent/file.json", 1, &NdjsonOptions::default()).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/file.json:0: cannot read")
        );
        let bad_logs = parse(r#"{"messageType":"NOPE","logEvents":[]}"#).unwrap_err();
        assert_eq!(bad_logs.line, 1);
    }

    #[test]
    fn a_broken_later_line_is_kept_with_a_warning() {
        let input = parse(&format!("{EV}\n{{\"kind\":\"Event\",\"trunc\n")).unwrap();
        assert_eq!(input.warnings.len(), 1);
        assert!(input.warnings[0].starts_with("t.ndjson:2: kept as unparseable"));
        let Batch::Decoded(Decoded::Data(d)) = &input.batches[0] else {
            panic!()
        };
        assert_eq!(d.log_events.len(), 2);
    }
}
