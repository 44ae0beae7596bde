//! The MLflow backend against a real MLflow 3.17 server (`MLOPS_TEST_MLFLOW_URI`):
//! the conformance suite, the documented `±inf` clamp, retry-safe batches, and an
//! interop check with MLflow's own Python client.
#![allow(clippy::disallowed_methods, clippy::unwrap_used)] // tests read their servers from the environment

use bytes::Bytes;
use mlops_tracking::mlflow::{DIGEST_TAG_PREFIX, MlflowTracker};
use mlops_tracking::{Batch, CreateRun, Metric, RunStatus, Tracker, TrackerExt, conformance};

fn tracker() -> Option<MlflowTracker> {
    let uri = mlops_core::testkit::server("MLOPS_TEST_MLFLOW_URI")?;
    Some(MlflowTracker::builder().with_url(uri).build().unwrap())
}

fn ns(what: &str) -> String {
    format!("{what}-{}", mlops_core::testkit::namespace())
}

#[tokio::test]
async fn conformance_on_mlflow() {
    let Some(t) = tracker() else { return };
    assert!(!t.capabilities().infinite_metrics);
    conformance::run_all(&t).await;
}

#[tokio::test]
async fn infinities_are_clamped_as_documented() {
    let Some(t) = tracker() else { return };
    let exp = t.create_experiment(&ns("clamp"), &[]).await.unwrap();
    let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
    let b = Batch::new()
        .metric(Metric::new("v", f64::INFINITY, 0).at(1))
        .metric(Metric::new("v", f64::NEG_INFINITY, 1).at(1))
        .metric(Metric::new("v", f64::NAN, 2).at(1))
        .metric(Metric::new("v", 1e308, 3).at(1));
    t.log_batch(run.id(), &b).await.unwrap();
    let h = t.metric_history(run.id(), "v").await.unwrap();
    assert_eq!(h[0].value, 1.797_693_134_862_315_7e308);
    assert_eq!(h[1].value, -1.797_693_134_862_315_7e308);
    assert!(h[2].value.is_nan());
    assert_eq!(h[3].value, 1e308);
    t.delete_experiment(&exp).await.unwrap();
}

#[tokio::test]
async fn a_repeated_batch_does_not_duplicate_points() {
    // What a retry after a lost response does: the same chunk sent twice.
    let Some(t) = tracker() else { return };
    let exp = t.create_experiment(&ns("retry"), &[]).await.unwrap();
    let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
    let b = Batch {
        metrics: (0..1500)
            .map(|i| Metric::new("x", i as f64, i).at(1000 + i))
            .collect(),
        ..Batch::default()
    }
    .param("p", "1");
    t.log_batch(run.id(), &b).await.unwrap();
    t.log_batch(run.id(), &b).await.unwrap();
    let h = t.metric_history(run.id(), "x").await.unwrap();
    assert_eq!(h.len(), 1500);
    t.delete_experiment(&exp).await.unwrap();
}

#[tokio::test]
async fn python_client_reads_what_rust_logged() {
    let Some(t) = tracker() else { return };
    let peers = std::env::var("MLOPS_PEERS_DIR")
        .unwrap_or_else(|_| format!("{}/.peers", std::env::var("HOME").unwrap_or_default()));
    let python = format!("{peers}/mlflow/bin/python");
    if !std::path::Path::new(&python).exists() {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(!in_ci, "{python} missing in CI");
        eprintln!("skipping: {python} not found");
        return;
    }
    let exp = t.create_experiment(&ns("interop"), &[]).await.unwrap();
    let run = t
        .create_run(&CreateRun::new(&exp).with_name("interop-run"))
        .await
        .unwrap();
    let mut b = Batch::new()
        .param("lr", "0.01")
        .param("layers", "3")
        .tag("team", "ml");
    for step in 0..50 {
        let v = if step == 7 {
            f64::NAN
        } else {
            1.0 / (step + 1) as f64
        };
        b = b.metric(Metric::new("loss", v, step).at(1_700_000_000_000 + step));
    }
    t.log_batch(run.id(), &b).await.unwrap();
    let payload = Bytes::from_static(b"weights\x00\x01\x02");
    let logged = t
        .log_artifact(run.id(), "model/weights.bin", payload.clone())
        .await
        .unwrap();
    t.update_run(run.id(), RunStatus::Finished, None)
        .await
        .unwrap();

    let out = tokio::process::Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/read_run.py"))
        .args([t.uri().as_str(), run.id(), "model/weights.bin"])
        .env("MLFLOW_DISABLE_TELEMETRY", "true")
        .env("DO_NOT_TRACK", "true")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "interop-run");
    assert_eq!(v["status"], "FINISHED");
    assert_eq!(
        v["params"],
        serde_json::json!({"lr": "0.01", "layers": "3"})
    );
    assert_eq!(v["tags"]["team"], "ml");
    let digest_tag = format!("{DIGEST_TAG_PREFIX}model/weights.bin");
    assert_eq!(v["tags"][&digest_tag], logged.digest.to_string());
    let hist = v["history"]["loss"].as_array().unwrap();
    assert_eq!(hist.len(), 50);
    let ours = t.metric_history(run.id(), "loss").await.unwrap();
    for (py, rs) in hist.iter().zip(&ours) {
        assert_eq!(py[0], rs.step);
        assert_eq!(py[1], rs.timestamp);
        if rs.value.is_nan() {
            assert_eq!(py[2], "NaN");
        } else {
            assert_eq!(py[2].as_f64().unwrap(), rs.value);
        }
    }
    assert_eq!(v["files"], serde_json::json!([["model", true]]));
    assert_eq!(v["artifact_hex"], hex(&payload));
    t.delete_experiment(&exp).await.unwrap();
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
