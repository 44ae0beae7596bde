//! `mlops monitor fairness|performance|validate|profile` as a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// label, pred, proba, group, x (x shifted by `shift`).
fn write(dir: &Path, name: &str, shift: f64) -> PathBuf {
    let label: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 0, 0, 1, 0]));
    let pred: ArrayRef = Arc::new(Int64Array::from(vec![1, 0, 0, 1, 1, 0]));
    let proba: ArrayRef = Arc::new(Float64Array::from(vec![0.9, 0.4, 0.2, 0.6, 0.8, 0.1]));
    let group: ArrayRef = Arc::new(StringArray::from(vec!["a", "a", "a", "b", "b", "b"]));
    let mut cols = vec![
        ("label", label),
        ("pred", pred),
        ("proba", proba),
        ("group", group),
    ];
    let x: ArrayRef = Arc::new(Float64Array::from(
        (0..6).map(|i| f64::from(i) + shift).collect::<Vec<_>>(),
    ));
    cols.push(("x", x));
    let b = RecordBatch::try_from_iter(cols).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, mlops_monitor::io::write_parquet_bytes(&b).unwrap()).unwrap();
    p
}

fn mlops() -> Command {
    Command::cargo_bin("mlops").unwrap()
}

fn stdout_json(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).to_string()
}

#[test]
fn fairness_json_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "d.parquet", 0.0);
    let args = [
        "monitor",
        "fairness",
        "--y-true",
        "label",
        "--y-pred",
        "pred",
        "--sensitive",
        "group",
        "--data",
    ];
    let a = mlops().args(args).arg(&d).arg("--json").assert().success();
    let v = stdout_json(&a);
    // the fairlearn doc example: a selects 1/3, b 2/3
    let dpd = v["between_groups"]["demographic_parity_difference"]
        .as_f64()
        .unwrap();
    assert!((dpd - 1.0 / 3.0).abs() < 1e-12, "{v}");
    assert_eq!(v["by_group"]["a"]["tpr"], 0.5);
    assert_eq!(v["by_group"]["b"]["count"], 3);
    assert!(v["to_overall"].is_object());
    let a = mlops().args(args).arg(&d).assert().success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        out.contains("between_groups") && out.contains("(overall)"),
        "{out}"
    );

    let a = mlops()
        .args([
            "monitor", "fairness", "--y-true", "label", "--y-pred", "pred",
        ])
        .args(["--sensitive", "gendr", "--data"])
        .arg(&d)
        .assert()
        .code(2);
    let err = stderr(&a);
    assert!(err.contains("gendr") && err.contains("group"), "{err}");
}

#[test]
fn performance_classification_regression_and_bad_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "d.parquet", 0.0);
    let a = mlops()
        .args(["--json", "monitor", "performance", "--y-true", "label"])
        .args(["--y-pred", "pred", "--scores", "proba", "--data"])
        .arg(&d)
        .assert()
        .success();
    let v = stdout_json(&a);
    // 4 of 6 right; proba ranks: positives 0.9 0.4 0.8 vs negatives 0.2 0.6 0.1 -> 8/9
    assert!(
        (v["accuracy"].as_f64().unwrap() - 4.0 / 6.0).abs() < 1e-12,
        "{v}"
    );
    assert!(
        (v["roc_auc"].as_f64().unwrap() - 8.0 / 9.0).abs() < 1e-12,
        "{v}"
    );
    assert_eq!(v["confusion_matrix"], serde_json::json!([[2, 1], [1, 2]]));

    let a = mlops()
        .args(["--json", "monitor", "performance", "--task", "regression"])
        .args(["--y-true", "label", "--y-pred", "pred", "--data"])
        .arg(&d)
        .assert()
        .success();
    let v = stdout_json(&a);
    assert!(
        (v["mae"].as_f64().unwrap() - 2.0 / 6.0).abs() < 1e-12,
        "{v}"
    );

    let a = mlops()
        .args([
            "monitor",
            "performance",
            "--y-true",
            "labl",
            "--y-pred",
            "pred",
            "--data",
        ])
        .arg(&d)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("labl"), "{}", stderr(&a));
    let a = mlops()
        .args([
            "monitor",
            "performance",
            "--y-true",
            "group",
            "--y-pred",
            "pred",
            "--data",
        ])
        .arg(&d)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("group"), "{}", stderr(&a));
}

#[test]
fn validate_gates_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let r = write(dir.path(), "r.parquet", 0.0);
    let c = write(dir.path(), "c.parquet", 0.0);
    let gates = |cur: &Path, min_auc: &str| {
        let mut cmd = mlops();
        cmd.args([
            "monitor", "validate", "--y-true", "label", "--y-pred", "pred",
        ])
        .args([
            "--scores",
            "proba",
            "--sensitive",
            "group",
            "--min-auc",
            min_auc,
        ])
        .arg("--reference")
        .arg(&r)
        .arg("--current")
        .arg(cur);
        cmd
    };
    let a = gates(&c, "0.8").assert().success();
    let v = stdout_json(&a);
    let reports = v.as_array().unwrap();
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["check"], "no_feature_drift");
    assert_eq!(reports[0]["passed"], true);
    assert_eq!(reports[1]["passed"], true, "{v}");

    // AUC 8/9 < 0.95: gate fails -> exit 1, still JSON on stdout
    let a = gates(&c, "0.95").assert().code(1);
    let v = stdout_json(&a);
    assert_eq!(v[1]["passed"], false, "{v}");
    assert!(stderr(&a).contains("failed"), "{}", stderr(&a));

    let a = gates(&dir.path().join("nope.parquet"), "0.8")
        .assert()
        .code(2);
    assert!(stderr(&a).contains("nope.parquet"), "{}", stderr(&a));
    let a = mlops()
        .args(["monitor", "validate", "--min-auc", "0.8", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("--scores"), "{}", stderr(&a));
}

#[test]
fn profile_writes_json() {
    let dir = tempfile::tempdir().unwrap();
    let r = write(dir.path(), "r.parquet", 0.0);
    let out = dir.path().join("p.json");
    let a = mlops()
        .args([
            "--json",
            "monitor",
            "profile",
            "--columns",
            "x,group",
            "--reference",
        ])
        .arg(&r)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    assert_eq!(
        stdout_json(&a)["columns"],
        serde_json::json!(["group", "x"])
    );
    let p = mlops_monitor::Profile::from_json(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(p.columns.len(), 2);
    let m = p.columns["x"].moments.unwrap();
    assert_eq!((m.n, m.min, m.max), (6, 0.0, 5.0));

    let a = mlops()
        .args(["monitor", "profile", "--columns", "y", "--reference"])
        .arg(&r)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("\"y\""), "{}", stderr(&a));
}

#[test]
fn help_has_examples() {
    for sub in ["fairness", "performance", "validate", "profile"] {
        let a = mlops().args(["monitor", sub, "--help"]).assert().success();
        let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert!(
            out.contains(&format!("mlops monitor {sub}"))
                || out.contains(&format!("monitor {sub} ")),
            "{sub}: {out}"
        );
        assert!(out.contains("Example"), "{sub}: {out}");
    }
}
