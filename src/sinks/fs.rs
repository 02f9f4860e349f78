//! Archive objects as files under a directory, with the same keys as in S3.

use std::path::{Path, PathBuf};

use super::{ArchiveSink, SinkError};

pub struct DirArchive {
    root: PathBuf,
}

impl DirArchive {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirArchive { root: root.into() }
    }

    pub fn path_of(&self, key: &str) -> PathBuf {
        // Keys are built from sanitised segments; refuse anything that climbs out anyway.
        let rel: PathBuf = key
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .collect();
        self.root.join(rel)
    }

    pub fn write(&self, key: &str, body: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path_of(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // Write then rename, so a reader never sees half an object. The temporary name is
        // unique to this write: `scan` writes from several threads, and two inputs can give
        // the same key (the same file twice, one bad payload in two files).
        static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = path.with_extension(format!("{}-{n}.partial", std::process::id()));
        std::fs::write(&tmp, body)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl ArchiveSink for DirArchive {
    async fn put_object(
        &self,
        key: &str,
        body: Vec<u8>,
        _content_type: &'static str,
    ) -> Result<(), SinkError> {
        self.write(key, &body).map(|_| ()).map_err(|e| SinkError {
            sink: "archive directory",
            message: format!("{}: {e}", self.path_of(key).display()),
        })
    }

    fn location(&self, key: &str) -> String {
        self.path_of(key).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_under_the_root_with_s3_keys() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirArchive::new(dir.path());
        let p = sink
            .write("audit/cluster=c/x/../y.ndjson.gz", b"hi")
            .unwrap();
        assert!(p.starts_with(dir.path()));
        assert_eq!(std::fs::read(&p).unwrap(), b"hi");
        assert!(p.ends_with("audit/cluster=c/x/y.ndjson.gz"));
    }

    /// `scan` writes from several threads; two inputs may give the same key.
    #[test]
    fn concurrent_writes_of_one_key_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let sink = DirArchive::new(dir.path());
        std::thread::scope(|s| {
            for t in 0..4u8 {
                let sink = &sink;
                s.spawn(move || {
                    for _ in 0..50 {
                        sink.write("q/dt=2026-11-25/same.json", &[t; 4096]).unwrap();
                    }
                });
            }
        });
        let body = std::fs::read(sink.path_of("q/dt=2026-11-25/same.json")).unwrap();
        assert_eq!(body.len(), 4096);
        assert!(
            body.iter().all(|b| *b == body[0]),
            "one writer's whole object"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("q/dt=2026-11-25"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary files left: {names:?}");
    }
}
