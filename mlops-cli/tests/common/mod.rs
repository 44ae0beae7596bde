//! Shared helpers for the binary tests (included with `mod common;`).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

/// Variables the tests clear so the caller's settings do not leak in.
pub(crate) const CLEARED: [&str; 8] = [
    "MLOPS_CONFIG",
    "MLOPS_PROFILE",
    "MLOPS_REGISTRY_URL",
    "MLOPS_AUDIT_URL",
    "MLOPS_PRINCIPAL",
    "MLOPS_ENVIRONMENTS",
    "MLFLOW_TRACKING_URI",
    "RUST_LOG",
];

/// The `mlops` binary in `dir`, with none of the caller's mlops settings leaking in.
pub(crate) fn mlops(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mlops").unwrap();
    cmd.current_dir(dir);
    for var in CLEARED {
        cmd.env_remove(var);
    }
    cmd.env("USER", "tester");
    cmd
}

/// Runs, expects `code`, returns (stdout, stderr).
pub(crate) fn run(dir: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = mlops(dir).args(args).output().unwrap();
    let (so, se) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "mlops {args:?}\nstdout: {so}\nstderr: {se}"
    );
    (so, se)
}

/// Runs with `--json`, expects exit 0, parses stdout.
pub(crate) fn json(dir: &Path, args: &[&str]) -> Value {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let (so, _) = run(dir, &a, 0);
    serde_json::from_str(so.trim()).unwrap_or_else(|e| panic!("{e}: {so}"))
}
