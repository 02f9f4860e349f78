//! The command-line tool, black-box: the real binary over the committed fixtures.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_eks-audit-watch");

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .args(args)
        .output()
        .expect("binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_the_subcommands() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    for sub in ["scan", "pack", "filter-test"] {
        assert!(stdout(&o).contains(sub), "{}", stdout(&o));
    }
}

#[test]
fn scan_json_prints_one_finding_per_rule_and_event() {
    let o = run(&[
        "scan",
        "--format",
        "json",
        "events/privileged-pod.json",
        "events/aws-auth-change.json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let findings: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    for id in ["EKS-001", "EKS-032", "EKS-033", "EKS-034"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    for f in &findings {
        for field in [
            "rule",
            "rule_id",
            "severity",
            "audit_id",
            "cluster",
            "user",
            "verb",
            "resource",
            "namespace",
            "name",
            "source_ip",
            "time",
        ] {
            assert!(f.get(field).is_some(), "finding lacks {field}: {f}");
        }
        assert_eq!(f["cluster"], "prod-eu-1");
    }
    let auth = findings.iter().find(|f| f["rule_id"] == "EKS-001").unwrap();
    assert_eq!(auth["severity"], "critical");
    assert_eq!(auth["namespace"], "kube-system");
    assert_eq!(auth["name"], "aws-auth");
    assert_eq!(auth["verb"], "patch");
}

#[test]
fn scan_text_has_a_summary_table_and_writes_archive_and_stats() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let stats = dir.path().join("stats.json");
    let o = run(&[
        "scan",
        "--archive-dir",
        archive.to_str().unwrap(),
        "--stats",
        stats.to_str().unwrap(),
        "events/mixed-batch.json",
        "events/exec-kube-system.json",
        "events/control-message.json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("Summary") && text.contains("| events received"),
        "{text}"
    );
    assert!(text.contains("EKS-024"), "{text}");
    let s: Value = serde_json::from_slice(&std::fs::read(&stats).unwrap()).unwrap();
    let c = &s["counters"];
    assert_eq!(c["control_messages"], 1);
    assert_eq!(c["received"], 44);
    let accounted: u64 = ["kept", "filtered", "duplicates", "unparseable"]
        .iter()
        .map(|k| c[*k].as_u64().unwrap())
        .sum();
    assert_eq!(c["received"].as_u64().unwrap(), accounted);
    assert_eq!(s["findingsByRule"]["EKS-024"], 1);
    let objects: Vec<_> = walk(&archive);
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert!(objects.iter().all(|p| {
        p.to_string_lossy()
            .contains("audit/cluster=prod-eu-1/dt=2026-11-24/hour=10/")
    }));
}

/// `--archive-codec zstd` writes `.ndjson.zst` objects: one JSON event per line, each the
/// audit event with its `eaw` enrichment.
#[test]
fn scan_writes_zstd_archives_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let o = run(&[
        "scan",
        "--archive-codec",
        "zstd",
        "--archive-dir",
        archive.to_str().unwrap(),
        "events/mixed-batch.json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let objects = walk(&archive);
    assert_eq!(objects.len(), 1, "{objects:?}");
    assert!(objects[0].to_string_lossy().ends_with(".ndjson.zst"));
    let body = std::fs::read(&objects[0]).unwrap();
    let text = String::from_utf8(zstd::decode_all(&body[..]).unwrap()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(lines.len() > 10, "{} lines", lines.len());
    // Every line carries the enrichment; all but kept-raw unparseable messages are events.
    assert!(lines.iter().all(|v| v["eaw"]["cluster"] == "prod-eu-1"));
    assert!(
        lines
            .iter()
            .all(|v| v["auditID"].is_string() || v["rawMessage"].is_string())
    );
    let bad = run(&["scan", "--archive-codec", "lz4", "events/mixed-batch.json"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// Files are scanned in parallel; the output does not depend on how many at once.
#[test]
fn scan_output_is_the_same_for_any_number_of_jobs() {
    let mut files: Vec<String> = std::fs::read_dir("events")
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".json"))
        .collect();
    files.sort();
    // Twice over, so that every worker has several files.
    let twice: Vec<&str> = files.iter().chain(&files).map(String::as_str).collect();
    let scan = |jobs: &str, format: &str| {
        let mut args = vec!["scan", "--jobs", jobs, "--format", format, "--alerts"];
        args.extend(&twice);
        let o = run(&args);
        // The malformed sample makes it exit 2, whatever the jobs.
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        (stdout(&o), stderr(&o))
    };
    let one = scan("1", "json");
    assert!(one.0.lines().count() > 10, "{}", one.0);
    assert_eq!(one, scan("3", "json"));
    assert_eq!(scan("1", "text"), scan("4", "text"));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn unusable_input_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("notes.txt");
    std::fs::write(&bad, "{\"kind\":\"Event\"}\n").unwrap();
    std::fs::write(&bad, "\nthese are not audit events\n").unwrap();
    let o = run(&["scan", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains(&format!("{}:2:", bad.display())),
        "{}",
        stderr(&o)
    );

    let o = run(&["scan", "events/malformed-payload.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("events/malformed-payload.json:1: payload cannot be decoded"),
        "{}",
        stderr(&o)
    );

    let o = run(&["scan", "no/such/file.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/file.json"), "{}", stderr(&o));
}

#[test]
fn pack_round_trips_ndjson_through_a_lambda_payload() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("payload.json");
    let o = run(&[
        "pack",
        "events/src/aws-auth-change.ndjson",
        "--log-group",
        "/aws/eks/staging/cluster",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let payload: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let data = payload["awslogs"]["data"].as_str().unwrap();
    assert!(data.len().is_multiple_of(4), "padded base64");
    let o = run(&["scan", "--format", "json", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let first: Value = serde_json::from_str(stdout(&o).lines().next().expect("a finding")).unwrap();
    assert_eq!(
        first["cluster"], "staging",
        "cluster comes from the log group"
    );

    // The committed fixtures are what `make events` generates from their sources.
    let o = run(&["pack", "events/src/privileged-pod.ndjson"]);
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/events/privileged-pod.json"
    ))
    .unwrap();
    assert_eq!(
        stdout(&o),
        committed,
        "run `make events` to refresh events/*.json"
    );
}

#[test]
fn filter_test_shows_what_the_pattern_keeps() {
    let o = run(&["filter-test", "events/mixed-batch.json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.lines()
            .any(|l| l.starts_with("DROP") && l.contains("/readyz")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("DROP") && l.contains("RequestReceived")),
        "{text}"
    );
    assert!(
        text.contains("kept 36, dropped 4, unparseable (always kept) 1"),
        "{text}"
    );
    let o = run(&[
        "filter-test",
        "--pattern",
        "{ $.verb = \"create\" }",
        "--quiet",
        "events/mixed-batch.json",
    ]);
    assert!(stdout(&o).starts_with("kept "), "{}", stdout(&o));
    let o = run(&[
        "filter-test",
        "--pattern",
        "{ $.verb = }",
        "events/mixed-batch.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("column"), "{}", stderr(&o));
}

#[test]
fn bad_lambda_configuration_fails_with_one_line_naming_the_variable() {
    let o = Command::new(BIN)
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:1")
        .env("ARCHIVE_BUCKET", "audit-archive")
        .env(
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:alerts",
        )
        .env("MIN_ALERT_SEVERITY", "loud")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("MIN_ALERT_SEVERITY") && err.contains("expected"),
        "{err}"
    );
}

#[test]
fn rules_list_validate_and_test_for_a_users_own_file() {
    let o = run(&[
        "rules",
        "list",
        "--rules",
        "tests/data/custom/team-rules.yaml",
        "--rules",
        "tests/data/custom/team-tuning.yaml",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "EKS-001",
        "TEAM-001",
        "tests/data/custom/team-rules.yaml",
        "Secrets listed cluster-wide (disabled)",
        "EKS-B3",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }

    let o = run(&["rules", "validate", "tests/data/custom/team-rules.yaml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).starts_with("ok: 1 file(s), 1 rule(s) defined there"),
        "{}",
        stdout(&o)
    );

    let o = run(&["rules", "validate", "tests/data/custom/broken-rules.yaml"]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("tests/data/custom/broken-rules.yaml:3:"),
        "file and line: {err}"
    );
    assert!(
        err.contains("Broken rule") && err.contains("ka.no.such.field"),
        "{err}"
    );

    let o = run(&[
        "rules",
        "test",
        "tests/data/custom/fixtures",
        "--rules",
        "tests/data/custom/team-rules.yaml",
    ]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(
        stdout(&o).contains("rules: 1 passed, 0 failed"),
        "{}",
        stdout(&o)
    );
    // Without the file the fixtures name an unknown rule: a user's CI sees a failure.
    let o = run(&["rules", "test", "tests/data/custom/fixtures"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));

    let o = run(&["rules", "test", "tests/data/rules"]);
    assert!(
        o.status.success(),
        "the built-in pack passes its own fixtures:\n{}",
        stdout(&o)
    );
}

#[test]
fn scan_with_custom_rules_no_defaults_and_first_match() {
    let dir = tempfile::tempdir().unwrap();
    let nd = dir.path().join("events.ndjson");
    let ev = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/custom/fixtures/TEAM-001/positive-1.json"
    ))
    .unwrap();
    std::fs::write(&nd, ev).unwrap();
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--rules",
        "tests/data/custom/team-rules.yaml",
        "--cluster",
        "prod-eu-1",
        nd.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let findings: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let f = findings
        .iter()
        .find(|f| f["rule_id"] == "TEAM-001")
        .expect("the team's rule fired");
    assert!(
        findings.iter().any(|f| f["rule_id"] == "EKS-047"),
        "the built-in pack runs alongside"
    );
    assert_eq!(
        f["output"],
        "namespace prod-payments deleted by arn:aws:sts::111122223333:assumed-role/Developer/bob from 203.0.113.20"
    );
    assert_eq!(f["cluster"], "prod-eu-1");

    // Only the user's rules: the built-in exec rules stay silent.
    let o = run(&[
        "scan",
        "--format",
        "json",
        "--no-default-rules",
        "--rules",
        "tests/data/custom/team-rules.yaml",
        "events/exec-kube-system.json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "");

    // first: one finding per event (Falco's default), all: every matching rule.
    let count = |matching: &str| {
        let o = run(&[
            "scan",
            "--format",
            "json",
            "--rule-matching",
            matching,
            "events/exec-kube-system.json",
        ]);
        stdout(&o).lines().count()
    };
    assert!(
        count("all") > count("first"),
        "all {} first {}",
        count("all"),
        count("first")
    );
    assert_eq!(count("first"), 2);

    let o = run(&[
        "scan",
        "--rules",
        "tests/data/custom/broken-rules.yaml",
        "events/exec-kube-system.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("broken-rules.yaml:3:"),
        "{}",
        stderr(&o)
    );
}

/// Within-batch detections: each has a positive and a near-miss negative batch, and the
/// thresholds are configuration.
#[test]
fn within_batch_detections_fire_at_their_thresholds() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/batch");
    let ids = |file: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["scan", "--format", "json", "--min-severity", "info"];
        args.extend_from_slice(extra);
        args.push(file);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["rule_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    for id in ["EKS-B1", "EKS-B2", "EKS-B3", "EKS-B4"] {
        let pos = format!("{root}/{id}/positive-1.ndjson");
        let neg = format!("{root}/{id}/negative-1.ndjson");
        assert_eq!(
            ids(&pos, &[]).iter().filter(|r| *r == id).count(),
            1,
            "{id} positive"
        );
        assert!(!ids(&neg, &[]).contains(&id.to_string()), "{id} negative");
    }
    // Lower the threshold and the near miss fires; 0 switches the detection off.
    let b1_neg = format!("{root}/EKS-B1/negative-1.ndjson");
    assert!(ids(&b1_neg, &["--batch-thresholds", "forbidden=9"]).contains(&"EKS-B1".to_string()));
    let b1_pos = format!("{root}/EKS-B1/positive-1.ndjson");
    assert!(!ids(&b1_pos, &["--batch-thresholds", "forbidden=0"]).contains(&"EKS-B1".to_string()));
    let o = run(&["scan", "--batch-thresholds", "forbidden=many", &b1_pos]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--batch-thresholds"), "{}", stderr(&o));
}

/// The benchmark runs end to end on a small corpus (a smoke test: no timing is asserted).
#[test]
fn bench_smoke_reports_every_figure() {
    let o = run(&[
        "bench",
        "--events",
        "1500",
        "--rounds",
        "1",
        "--json",
        "--no-memory",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: Value = serde_json::from_str(&stdout(&o)).expect("bench --json prints JSON");
    assert_eq!(r["events"], 1500);
    for key in [
        "single_thread_events_per_sec",
        "multi_thread_events_per_sec",
        "single_thread_mb_per_sec",
        "floor_seconds",
        "floor_ratio",
        "zstd_floor_ratio",
        "archive_vs_input_raw",
        "scan_seconds_one_job",
        "scan_seconds_all_jobs",
        "scan_scaling",
    ] {
        assert!(
            r[key].as_f64().is_some_and(|x| x > 0.0),
            "{key}: {}",
            r[key]
        );
    }
    let stages: Vec<&str> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages.len(), 9, "{stages:?}");
    assert!(
        r["cold_start_ms"].as_f64().is_some(),
        "the cold start probe reached the local Runtime API: {r}"
    );
    if cfg!(target_os = "linux") {
        // What the start cost, read from /proc while the function waited for its event.
        assert!(
            r["cold_start_cpu_ms"].as_f64().is_some_and(|ms| ms > 0.0),
            "{r}"
        );
        assert!(
            r["cold_start_page_faults"].as_u64().is_some_and(|n| n > 50),
            "{r}"
        );
    }
    // The two reference functions are examples, built by `cargo test` (not by `--test cli`
    // alone): measured together when they are there.
    assert_eq!(
        r["cold_start_hello_ms"].as_f64().is_some(),
        r["cold_start_sdk_ms"].as_f64().is_some(),
        "{r}"
    );
    assert!(r["kept"].as_u64().unwrap() > 1000);
    // zstd archives hold the same records in fewer bytes than gzip's.
    let (zstd, gzip) = (
        r["zstd_archive_bytes"].as_u64().unwrap(),
        r["archive_bytes"].as_u64().unwrap(),
    );
    assert!(zstd > 0 && zstd < gzip, "zstd {zstd} vs gzip {gzip}");
}

/// build.rs links the binary at a fixed address on Linux (no relocations for the loader to
/// apply at a cold start) unless `EKS_AUDIT_WATCH_PIE=1` asked for a position-independent one.
/// What `file` reports as "executable" against "pie executable": the ELF header's `e_type`.
#[cfg(target_os = "linux")]
#[test]
fn the_binary_is_linked_at_a_fixed_address_unless_asked_not_to() {
    const ET_EXEC: u16 = 2;
    const ET_DYN: u16 = 3;
    let head = std::fs::read(BIN).expect("binary readable");
    assert_eq!(&head[..4], b"\x7fELF", "{BIN} is not ELF");
    let e_type = u16::from_le_bytes([head[16], head[17]]);
    let want = if option_env!("EKS_AUDIT_WATCH_PIE") == Some("1") {
        ET_DYN
    } else {
        ET_EXEC
    };
    assert_eq!(e_type, want, "{BIN}: ELF type {e_type}");
}

/// The section each named function of an ELF64 little-endian file lies in: (function's
/// mangled name, section name) for every `STT_FUNC` symbol of `.symtab`.
#[cfg(target_os = "linux")]
fn function_sections(elf: &[u8]) -> Vec<(String, String)> {
    let u16_at = |o: usize| u16::from_le_bytes(elf[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().unwrap()) as usize;
    let cstr = |o: usize| {
        let end = elf[o..].iter().position(|&b| b == 0).unwrap();
        String::from_utf8_lossy(&elf[o..o + end]).into_owned()
    };
    assert_eq!(elf[4], 2, "not ELF64");
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    // (name offset, type, file offset, size, link) of each section header.
    let header = |i: usize| {
        let h = shoff + i * shentsize;
        (
            u32_at(h),
            u32_at(h + 4),
            u64_at(h + 0x18),
            u64_at(h + 0x20),
            u32_at(h + 0x28),
        )
    };
    let names_at = header(shstrndx).2;
    let section_name = |i: usize| cstr(names_at + header(i).0);
    const SHT_SYMTAB: usize = 2;
    const STT_FUNC: u8 = 2;
    let symtab = (0..shnum)
        .find(|&i| header(i).1 == SHT_SYMTAB)
        .expect("a symbol table");
    let (_, _, offset, size, link) = header(symtab);
    let strings = header(link).2;
    (offset..offset + size)
        .step_by(24)
        .filter(|&s| elf[s + 4] & 0xf == STT_FUNC && (1..shnum).contains(&u16_at(s + 6)))
        .map(|s| (cstr(strings + u32_at(s)), section_name(u16_at(s + 6))))
        .collect()
}

/// build.rs links with `scripts/cold-start.ld`: the functions a cold start runs sit together
/// in `.text.coldstart`, the per-event ones stay in `.text` (unless
/// `EKS_AUDIT_WATCH_COLD_START_LAYOUT=0` asked for the plain layout).
#[cfg(target_os = "linux")]
#[test]
fn the_cold_start_functions_are_laid_out_together() {
    let elf = std::fs::read(BIN).expect("binary readable");
    let sections = function_sections(&elf);
    let section_of = |name: &str| {
        let found: Vec<&str> = sections
            .iter()
            .filter(|(f, _)| f.starts_with(name))
            .map(|(_, s)| s.as_str())
            .collect();
        assert!(!found.is_empty(), "{BIN}: no function {name}");
        found
    };
    let layout = option_env!("EKS_AUDIT_WATCH_COLD_START_LAYOUT") != Some("0");
    let cold_start = if layout { ".text.coldstart" } else { ".text" };
    for f in [
        "_ZN15eks_audit_watch4main17h",
        "_ZN15eks_audit_watch6lambda3run28_$u7b$$u7b$closure$u7d$$u7d$17h",
        "_ZN15eks_audit_watch14filter_pattern13FilterPattern5parse17h",
    ] {
        assert!(section_of(f).iter().all(|s| *s == cold_start), "{f}");
    }
    let per_event = section_of("_ZN15eks_audit_watch8pipeline8Pipeline15process_payload17h");
    assert!(per_event.iter().all(|s| *s == ".text"), "{per_event:?}");
}
