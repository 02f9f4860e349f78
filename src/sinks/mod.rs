//! The I/O edges. The pipeline decides *what* to write; a sink writes it. Small traits
//! so the Lambda handler can be tested with the filesystem or a recording sink, and the
//! CLI reuses the same handler code with local sinks.

pub mod fs;
pub mod memory;
pub mod s3;
pub mod sns;

use std::future::Future;

use crate::alert::AlertMessage;

#[derive(Debug, thiserror::Error)]
#[error("{sink}: {message}")]
pub struct SinkError {
    pub sink: &'static str,
    pub message: String,
}

/// Where archive and quarantine objects go (S3, or a directory).
pub trait ArchiveSink: Send + Sync {
    fn put_object(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// A location a person can paste: `s3://bucket/key` or a file path.
    fn location(&self, key: &str) -> String;
}

/// Where alerts go (SNS).
pub trait AlertSink: Send + Sync {
    fn publish(&self, alert: &AlertMessage) -> impl Future<Output = Result<(), SinkError>> + Send;
}
