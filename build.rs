//! Work done once at build time instead of at every cold start:
//! - the built-in rule pack, compiled: the library's own rules compiler (`src/rules`, with
//!   the few modules it uses) is compiled into this script and run over `rules/*.yaml`; the
//!   result is written out as Rust static data (`src/rules/codegen.rs`), which the binary
//!   uses where it lies instead of compiling the pack again. If the pack does not compile,
//!   `PACK` is written as `None` and the binary compiles it at run time, where the errors are
//!   reported;
//! - the same pack as JSON (`$OUT_DIR/*.yaml.json`), which the loader reads ten times faster
//!   than YAML when an operator's rules are compiled together with the pack (the YAML stays
//!   the source of truth, and the loader falls back to it if a file could not be converted
//!   — then it reports the file's problem with its line);
//! - the IP snapshots (`data/*.txt`): parsed and merged into sorted ranges
//!   (`$OUT_DIR/*.bin`) by the same code the binary would run on them;
//! - the TLS roots as the PEM text the SDK's trust store takes: Mozilla's root certificates
//!   (`webpki-root-certs`, `$OUT_DIR/mozilla-roots.pem`) and, of them, Amazon Trust
//!   Services' five (`$OUT_DIR/amazon-roots.pem`).
//!
//! It also links the binary (and the bench's reference examples, so they are built the same
//! way) as a position-dependent executable on Linux, with its cold start's functions laid out
//! together; see `link_for_cold_start`.

use std::path::PathBuf;

// The run-time parser itself, so the embedded ranges are exactly what parsing the text at
// run time would give.
#[allow(dead_code)]
#[path = "src/pipeline/cidr.rs"]
mod cidr;

// The rules compiler and what it uses, so the snapshot is what the binary would compile.
// Parts only the binary calls are unused here.
#[allow(dead_code, unused_imports)]
#[path = "src/doc.rs"]
mod doc;
#[allow(dead_code, unused_imports)]
#[path = "src/rules/mod.rs"]
mod rules;
#[allow(dead_code)]
#[path = "src/severity.rs"]
mod severity;
#[allow(dead_code)]
#[path = "src/timefmt.rs"]
mod timefmt;

const PACK: &[&str] = &[
    "eks.yaml",
    "eks-identity.yaml",
    "eks-credentials-execution.yaml",
    "eks-workloads-exposure.yaml",
];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut sources = Vec::new();
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
        sources.push(rules::RuleSource {
            name: format!("builtin:{name}"),
            text,
        });
    }
    let set = match rules::RuleSet::load(&sources) {
        Ok((set, warnings)) => {
            for w in warnings {
                println!("cargo:warning=the built-in rule pack: {w}");
            }
            Some(set)
        }
        Err(e) => {
            let problems = e.to_string().replace('\n', " | ");
            println!("cargo:warning=the built-in rule pack does not compile: {problems}");
            None
        }
    };
    std::fs::write(
        out.join("builtin_pack.rs"),
        rules::codegen::pack_source(set.as_ref()),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    // The library includes the written pack (`rules::builtin`); this script's own copy of
    // the rules module is compiled without it.
    println!("cargo:rustc-cfg=builtin_pack");
    println!("cargo:rerun-if-changed=src/rules");
    for path in ["src/doc.rs", "src/severity.rs", "src/timefmt.rs"] {
        println!("cargo:rerun-if-changed={path}");
    }
    let (mozilla, _) = roots_pem(|_| true);
    let (amazon, count) = roots_pem(|der| {
        let has = |name: &[u8]| der.windows(name.len()).any(|w| w == name);
        has(b"Amazon Root CA") || has(b"Starfield Services Root Certificate Authority - G2")
    });
    // Amazon Root CA 1-4 and Starfield Services G2, as amazontrust.com lists them.
    assert_eq!(count, 5, "Amazon Trust Services roots in webpki-root-certs");
    for (name, pem) in [("mozilla-roots.pem", mozilla), ("amazon-roots.pem", amazon)] {
        std::fs::write(out.join(name), pem).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    }
    for name in ["aws-ec2-ranges", "tor-exit-nodes"] {
        let path = format!("data/{name}.txt");
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let set = cidr::CidrSet::parse_list(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        std::fs::write(out.join(format!("{name}.bin")), set.to_bytes())
            .unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    }
    println!("cargo:rerun-if-changed=src/pipeline/cidr.rs");
    println!("cargo:rerun-if-changed=build.rs");
    link_for_cold_start();
}

/// Link arguments for the binary and the examples (Linux only; libraries and test binaries
/// link as before, and macOS, which requires PIE on arm64, is left alone).
///
/// `-no-pie`: a position-independent executable carries a relocation for every pointer in
/// its read-only data (vtables, string tables, panic locations: ~17,000 here, most of them
/// the AWS SDK's), and the loader applies them all before `main`, writing to — and so
/// copying — every page of `.data.rel.ro` (~63 pages). At a fixed address there is nothing
/// to apply: a cold start reaches the Runtime API's `/next` ~20 % sooner, with ~70 fewer
/// page faults (README, Performance). The price is that the executable's own code and data
/// are not placed at a random address (libraries, stack and heap still are).
/// `EKS_AUDIT_WATCH_PIE=1` at build time keeps the default position-independent executable.
///
/// `scripts/cold-start.ld`: the functions a cold start runs, gathered into one output
/// section ahead of `.text` (`scripts/cold-start-layout.py` says how and why): ~35 fewer
/// page faults, ~0.1 ms. The script only adds a section (`INSERT BEFORE .text`), which GNU
/// ld, lld and Zig's linker all accept; `EKS_AUDIT_WATCH_COLD_START_LAYOUT=0` leaves it out
/// (for a linker that does not, such as mold).
fn link_for_cold_start() {
    println!("cargo:rerun-if-env-changed=EKS_AUDIT_WATCH_PIE");
    println!("cargo:rerun-if-env-changed=EKS_AUDIT_WATCH_COLD_START_LAYOUT");
    println!("cargo:rerun-if-changed=scripts/cold-start.ld");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if !linux {
        return;
    }
    let mut args = Vec::new();
    let keep_pie = std::env::var("EKS_AUDIT_WATCH_PIE").is_ok_and(|v| v == "1");
    if !keep_pie {
        args.push("-no-pie".to_string());
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = PathBuf::from(manifest).join("scripts/cold-start.ld");
    let layout = !std::env::var("EKS_AUDIT_WATCH_COLD_START_LAYOUT").is_ok_and(|v| v == "0");
    if layout {
        // `-Wl,` splits at commas, so a path holding one cannot be passed this way.
        match script.to_str() {
            Some(path) if !path.contains(',') => args.push(format!("-Wl,-T,{path}")),
            _ => println!(
                "cargo:warning=cold-start layout left out: {} cannot be passed to the linker",
                script.display()
            ),
        }
    }
    for arg in args {
        println!("cargo:rustc-link-arg-bins={arg}");
        println!("cargo:rustc-link-arg-examples={arg}");
    }
}

/// The roots `keep` accepts as one PEM text, and how many.
fn roots_pem(keep: impl Fn(&[u8]) -> bool) -> (String, usize) {
    use base64::Engine;
    let mut pem = String::with_capacity(256 * 1024);
    let mut count = 0;
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        if !keep(der.as_ref()) {
            continue;
        }
        count += 1;
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    (pem, count)
}
