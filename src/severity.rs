//! Severity of a finding, ordered: info < low < medium < high < critical.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}
impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
    /// Our names and Falco's priorities, case-insensitive.
    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "informational" | "debug" => Some(Severity::Info),
            "low" | "notice" => Some(Severity::Low),
            "medium" | "warning" | "warn" => Some(Severity::Medium),
            "high" | "error" => Some(Severity::High),
            "critical" | "alert" | "emergency" => Some(Severity::Critical),
            _ => None,
        }
    }
}
impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_names_and_falco_priorities() {
        assert!(Severity::Info < Severity::Low && Severity::High < Severity::Critical);
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(Severity::parse("WARNING"), Some(Severity::Medium));
        assert_eq!(Severity::parse("Notice"), Some(Severity::Low));
        assert_eq!(Severity::parse("EMERGENCY"), Some(Severity::Critical));
        assert_eq!(Severity::parse("urgent"), None);
        assert_eq!(serde_json::to_string(&Severity::High).unwrap(), "\"high\"");
    }
}
