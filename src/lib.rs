//! eks-audit-watch: EKS Kubernetes audit logs from a CloudWatch Logs subscription →
//! decode → filter → redact → enrich → detect → S3 archive + SNS alerts.
//!
//! The pipeline stages are pure (`pipeline`, `filter_pattern`, `rules`, `archive`,
//! `alert`); the edges (`lambda`, `cli`, `sinks`) do the I/O.

pub mod alert;
pub mod archive;
pub mod bench;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod deliver;
pub mod doc;
pub mod filter_pattern;
pub mod json_out;
pub mod lambda;
mod pack;
pub mod pipeline;
pub mod rules;
pub mod severity;
pub mod sinks;
pub mod timefmt;
