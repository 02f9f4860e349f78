//! Stage 7 (the encoding half): which object a batch goes to, and its compressed NDJSON
//! body (gzip, or zstd with `ARCHIVE_CODEC=zstd`). The S3/filesystem write is a sink
//! (`crate::sinks`).

use std::io::Write;

use flate2::{Compression, GzBuilder};
use serde::Serialize;

use crate::timefmt::UtcHour;

/// How archive objects are compressed. Athena (engine version 3) reads both in tables of
/// JSON text files, choosing the decoder by the object's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchiveCodec {
    /// `.ndjson.gz`, at `ARCHIVE_GZIP_LEVEL`.
    #[default]
    Gzip,
    /// `.ndjson.zst`, at `ARCHIVE_ZSTD_LEVEL`.
    Zstd,
}

impl ArchiveCodec {
    pub fn parse(s: &str) -> Option<ArchiveCodec> {
        match s {
            "gzip" => Some(ArchiveCodec::Gzip),
            "zstd" => Some(ArchiveCodec::Zstd),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ArchiveCodec::Gzip => "gzip",
            ArchiveCodec::Zstd => "zstd",
        }
    }

    /// The object key's extension (Athena picks the decoder by it).
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveCodec::Gzip => "ndjson.gz",
            ArchiveCodec::Zstd => "ndjson.zst",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ArchiveCodec::Gzip => "application/gzip",
            ArchiveCodec::Zstd => "application/zstd",
        }
    }
}

/// `<prefix>/cluster=<c>/dt=YYYY-MM-DD/hour=HH/<logStream>/<first-event-id>.ndjson.gz`
/// (`.ndjson.zst` with zstd).
///
/// Deterministic in the batch's content, so a redelivered batch overwrites its own
/// object instead of adding a duplicate. Hive-style `k=v` segments let Athena/Glue
/// partition on cluster, day and hour.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArchiveKey(String);

impl ArchiveKey {
    pub fn for_batch(
        prefix: &str,
        cluster: &str,
        first_timestamp_ms: i64,
        log_stream: &str,
        first_event_id: &str,
        codec: ArchiveCodec,
    ) -> ArchiveKey {
        let h = UtcHour::from_epoch_ms(first_timestamp_ms);
        let mut key = String::new();
        if !prefix.is_empty() {
            key.push_str(prefix.trim_matches('/'));
            key.push('/');
        }
        key.push_str(&format!(
            "cluster={}/dt={}/hour={:02}/{}/{}.{}",
            segment(cluster),
            h.date(),
            h.hour,
            segment(log_stream),
            segment(first_event_id),
            codec.extension()
        ));
        ArchiveKey(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ArchiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One path segment: characters S3, Athena and shells are all happy with.
pub fn segment(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match cleaned.as_str() {
        "" => "_".to_string(),
        "." | ".." => cleaned.replace('.', "_"),
        _ => cleaned,
    }
}

/// Records are staged in a buffer of this size before the encoder sees them: deflate
/// called once per small record (and once more for its newline) cost a fifth more than the
/// same bytes in large writes.
const STAGING_BYTES: usize = 256 * 1024;

enum Encoder {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

/// Streams NDJSON records into one gzip member or zstd frame. The gzip header carries no
/// name and no modification time, so the same records always give the same bytes.
pub struct ArchiveWriter {
    encoder: Encoder,
    staged: Vec<u8>,
    records: usize,
    raw_bytes: u64,
}

impl ArchiveWriter {
    /// A gzip writer at `level` (1–9).
    pub fn gzip(level: u32) -> Self {
        ArchiveWriter::with(Encoder::Gzip(
            GzBuilder::new()
                .mtime(0)
                .write(Vec::new(), Compression::new(level)),
        ))
    }

    /// A zstd writer at `level` (1–19); the frame records the content checksum.
    pub fn zstd(level: i32) -> Self {
        let mut enc =
            zstd::stream::write::Encoder::new(Vec::new(), level).expect("in-memory zstd encoder");
        enc.include_checksum(true).expect("zstd parameter");
        ArchiveWriter::with(Encoder::Zstd(enc))
    }

    /// The writer for `codec`, at its level from `gzip_level` or `zstd_level`.
    pub fn new(codec: ArchiveCodec, gzip_level: u32, zstd_level: i32) -> Self {
        match codec {
            ArchiveCodec::Gzip => ArchiveWriter::gzip(gzip_level),
            ArchiveCodec::Zstd => ArchiveWriter::zstd(zstd_level),
        }
    }

    fn with(encoder: Encoder) -> Self {
        ArchiveWriter {
            encoder,
            staged: Vec::with_capacity(STAGING_BYTES + 16 * 1024),
            records: 0,
            raw_bytes: 0,
        }
    }

    pub fn push<T: Serialize>(&mut self, record: &T) -> std::io::Result<()> {
        self.record(|buf| serde_json::to_writer(buf, record).expect("in-memory serialise"));
        self.flush_if_full()
    }

    pub fn push_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        self.record(|buf| buf.extend_from_slice(line));
        self.flush_if_full()
    }

    /// Stages one record that `write` appends (without its newline). The caller then calls
    /// [`ArchiveWriter::flush_if_full`]; the two are apart so a benchmark can time them
    /// as serialise and compress.
    pub fn record(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.staged.len();
        write(&mut self.staged);
        self.staged.push(b'\n');
        self.records += 1;
        self.raw_bytes += (self.staged.len() - start) as u64;
    }

    /// Compresses the staged records once they fill the staging buffer.
    pub fn flush_if_full(&mut self) -> std::io::Result<()> {
        if self.staged.len() >= STAGING_BYTES {
            self.write_staged()?;
        }
        Ok(())
    }

    fn write_staged(&mut self) -> std::io::Result<()> {
        match &mut self.encoder {
            Encoder::Gzip(e) => e.write_all(&self.staged)?,
            Encoder::Zstd(e) => e.write_all(&self.staged)?,
        }
        self.staged.clear();
        Ok(())
    }

    pub fn records(&self) -> usize {
        self.records
    }

    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    pub fn finish(mut self) -> std::io::Result<Vec<u8>> {
        self.write_staged()?;
        match self.encoder {
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn key_layout_is_partitioned_and_deterministic() {
        let k = ArchiveKey::for_batch(
            "audit/",
            "prod-eu-1",
            1_795_515_330_123,
            "kube-apiserver-audit-0a1b",
            "38001234",
            ArchiveCodec::Gzip,
        );
        assert_eq!(
            k.as_str(),
            "audit/cluster=prod-eu-1/dt=2026-11-24/hour=10/kube-apiserver-audit-0a1b/38001234.ndjson.gz"
        );
        let odd = ArchiveKey::for_batch("", "a/b", 0, "..", "x y", ArchiveCodec::Zstd);
        assert_eq!(
            odd.as_str(),
            "cluster=a_b/dt=1970-01-01/hour=00/__/x_y.ndjson.zst"
        );
    }

    #[test]
    fn same_records_same_bytes_and_readable_back() {
        // More than one staging buffer's worth, so chunked writes are exercised too.
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(STAGING_BYTES));
        for codec in [ArchiveCodec::Gzip, ArchiveCodec::Zstd] {
            let write = || {
                let mut w = ArchiveWriter::new(codec, 6, 3);
                w.push(&serde_json::json!({"a": 1})).unwrap();
                w.push_line(big.as_bytes()).unwrap();
                w.push_line(br#"{"b":2}"#).unwrap();
                assert_eq!(w.records(), 3);
                assert_eq!(w.raw_bytes(), (8 + big.len() + 1 + 8) as u64);
                w.finish().unwrap()
            };
            let (a, b) = (write(), write());
            assert_eq!(a, b, "{codec:?}");
            let mut text = String::new();
            match codec {
                ArchiveCodec::Gzip => flate2::read::GzDecoder::new(&a[..])
                    .read_to_string(&mut text)
                    .unwrap(),
                ArchiveCodec::Zstd => zstd::stream::read::Decoder::new(&a[..])
                    .unwrap()
                    .read_to_string(&mut text)
                    .unwrap(),
            };
            assert_eq!(
                text,
                format!("{{\"a\":1}}\n{big}\n{{\"b\":2}}\n"),
                "{codec:?}"
            );
        }
        assert_eq!(ArchiveCodec::parse("zstd"), Some(ArchiveCodec::Zstd));
        assert_eq!(ArchiveCodec::parse("zip"), None);
    }
}
