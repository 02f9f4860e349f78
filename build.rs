//! The built-in rule pack, parsed once at build time: each `rules/*.yaml` is also written to
//! `$OUT_DIR` as JSON, which the binary reads ten times faster than YAML at cold start (the
//! YAML stays the source of truth, and the loader falls back to it if this step could not
//! convert a file — then the loader reports the file's problem with its line).

use std::path::PathBuf;

const PACK: &[&str] = &[
    "eks.yaml",
    "eks-identity.yaml",
    "eks-credentials-execution.yaml",
    "eks-workloads-exposure.yaml",
];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in PACK {
        let path = format!("rules/{name}");
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json = serde_yaml::from_str::<serde_yaml::Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string(&v).ok())
            .unwrap_or_default();
        std::fs::write(out.join(format!("{name}.json")), json)
            .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    }
    println!("cargo:rerun-if-changed=build.rs");
}
