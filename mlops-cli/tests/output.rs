//! Output for machines: no progress escape codes when stdout/stderr are not
//! terminals, and `--log-format json` logs as one JSON object per stderr line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::mlops;
use serde_json::Value;

/// Runs with piped stdout/stderr; returns (code, stdout, stderr).
fn piped(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut c = mlops(dir);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// No ANSI escape (progress bars, spinners, colours) and no carriage-return redraws.
fn assert_plain(what: &str, s: &str) {
    assert!(!s.contains('\u{1b}'), "{what}: escape code in {s:?}");
    assert!(!s.contains('\r'), "{what}: redraw in {s:?}");
}

#[test]
fn no_progress_codes_when_piped() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // 3 MiB of artifacts: the register path that draws a byte bar on a terminal
    std::fs::write(dir.join("model.bin"), vec![1u8; 3 << 20]).unwrap();
    let (code, so, se) = piped(
        dir,
        &[("RUST_LOG", "info")],
        &[
            "models",
            "register",
            "fraud",
            "--artifact",
            "model.bin",
            "--metric",
            "auc=0.9",
        ],
    );
    assert_eq!(code, 0, "{se}");
    assert_eq!(so, "registered fraud version 1\n");
    assert_plain("register stdout", &so);
    assert_plain("register stderr", &se);
    // text logs go to stderr, uncoloured
    assert!(
        se.contains("registered") && se.contains("command finished"),
        "{se}"
    );

    let drift = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/drift/dataset_two_of_five"
    );
    let (r, c) = (
        format!("{drift}/reference.parquet"),
        format!("{drift}/current.parquet"),
    );
    let (code, so, se) = piped(
        dir,
        &[],
        &[
            "monitor",
            "drift",
            "--reference",
            &r,
            "--current",
            &c,
            "--format",
            "html",
        ],
    );
    assert_eq!(code, 0, "{se}");
    assert!(so.starts_with("<!DOCTYPE html>"));
    assert_plain("drift stdout", &so);
    assert_eq!(se, "", "nothing on stderr at the default level");
}

#[test]
fn json_logs_are_json_lines() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("m.pkl"), b"w").unwrap();
    let (code, so, se) = piped(
        dir,
        &[("RUST_LOG", "info")],
        &[
            "--log-format",
            "json",
            "-q",
            "models",
            "register",
            "fraud",
            "--artifact",
            "m.pkl",
        ],
    );
    assert_eq!(code, 0, "{se}");
    assert_eq!(so, "1\n", "stdout keeps the result only");
    let events: Vec<Value> = se
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let reg = events
        .iter()
        .find(|e| e["fields"]["message"] == "registered")
        .unwrap_or_else(|| panic!("{se}"));
    assert_eq!(reg["level"], "INFO");
    assert_eq!(reg["fields"]["model"], "fraud");
    assert_eq!(reg["fields"]["version"], 1);
    let done = events.last().unwrap();
    assert_eq!(done["fields"]["message"], "command finished");
    assert_eq!(done["fields"]["command"], "models");
    assert_eq!(done["fields"]["exit"], 0);

    // errors are JSON too, with the exit code, at the default level
    let (code, so, se) = piped(
        dir,
        &[],
        &["--log-format", "json", "models", "show", "nope-model"],
    );
    assert_eq!(code, 2);
    assert_eq!(so, "");
    let lines: Vec<&str> = se.lines().collect();
    assert_eq!(lines.len(), 1, "{se}");
    let e: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(e["level"], "ERROR");
    assert_eq!(e["fields"]["exit"], 2);
    assert!(
        e["fields"]["error"]
            .as_str()
            .unwrap()
            .contains("nope-model"),
        "{e}"
    );

    // a bad format value is a usage error
    let (code, _, se) = piped(dir, &[], &["--log-format", "xml", "models", "list"]);
    assert_eq!(code, 2);
    assert!(se.contains("xml"), "{se}");
}
