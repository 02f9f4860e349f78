//! Sinks that keep what they are given: the CLI's alert preview and tests.

use std::sync::Mutex;

use super::{AlertSink, ArchiveSink, SinkError};
use crate::alert::AlertMessage;

/// Collects alerts instead of sending them (`scan --alerts` prints them).
#[derive(Default)]
pub struct MemoryAlerts {
    pub sent: Mutex<Vec<AlertMessage>>,
}

impl AlertSink for MemoryAlerts {
    async fn publish(&self, alert: &AlertMessage) -> Result<(), SinkError> {
        self.sent.lock().expect("not poisoned").push(alert.clone());
        Ok(())
    }
}

/// Accepts archive objects and keeps only their keys (a scan without `--archive-dir`).
#[derive(Default)]
pub struct DiscardArchive {
    pub keys: Mutex<Vec<String>>,
}

impl ArchiveSink for DiscardArchive {
    async fn put_object(
        &self,
        key: &str,
        _body: Vec<u8>,
        _ct: &'static str,
    ) -> Result<(), SinkError> {
        self.keys
            .lock()
            .expect("not poisoned")
            .push(key.to_string());
        Ok(())
    }

    fn location(&self, key: &str) -> String {
        format!("(not written) {key}")
    }
}
