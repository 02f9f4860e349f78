//! Per-stage timing for the benchmark. Off in production: a disabled [`Stopwatch`] never
//! reads the clock, so the only cost is a predictable branch.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Inflate,
    LogsParse,
    EventParse,
    Filter,
    Redact,
    Enrich,
    Detect,
    Serialise,
    Compress,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::Inflate,
        Stage::LogsParse,
        Stage::EventParse,
        Stage::Filter,
        Stage::Redact,
        Stage::Enrich,
        Stage::Detect,
        Stage::Serialise,
        Stage::Compress,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Inflate => "base64+inflate",
            Stage::LogsParse => "LogsData parse",
            Stage::EventParse => "event parse",
            Stage::Filter => "filter",
            Stage::Redact => "redact",
            Stage::Enrich => "enrich",
            Stage::Detect => "detect",
            Stage::Serialise => "serialise",
            Stage::Compress => "compress",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Stopwatch {
    enabled: bool,
    totals: [Duration; 9],
}

impl Stopwatch {
    pub fn on() -> Self {
        Stopwatch {
            enabled: true,
            ..Default::default()
        }
    }

    pub fn off() -> Self {
        Stopwatch::default()
    }

    #[inline]
    pub fn start(&self) -> Option<Instant> {
        self.enabled.then(Instant::now)
    }

    #[inline]
    pub fn stop(&mut self, stage: Stage, started: Option<Instant>) {
        if let Some(t) = started {
            self.totals[stage as usize] += t.elapsed();
        }
    }

    pub fn total(&self, stage: Stage) -> Duration {
        self.totals[stage as usize]
    }

    pub fn add(&mut self, other: &Stopwatch) {
        for (a, b) in self.totals.iter_mut().zip(other.totals.iter()) {
            *a += *b;
        }
    }
}
