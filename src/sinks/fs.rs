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
        // Write then rename, so a reader never sees half an object.
        let tmp = path.with_extension("partial");
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
}
