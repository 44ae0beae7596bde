//! Several processes logging into one `file://` store at once, two of them into the
//! same run: every point must be present exactly once.
//!
//! The test spawns its own binary as the child processes (`child_writer` below does
//! nothing unless the parent's environment variables are set). `MLOPS_CONCURRENCY_POINTS`
//! (default 5000) sets the points per process, e.g. 100000 for the full-size check;
//! batches hold 1000 points from 100,000 up, 250 below.
#![allow(clippy::disallowed_methods)] // the child reads its job from the environment by design

use mlops_tracking::{Batch, CreateRun, EmbeddedTracker, Metric, Tracker, TrackerExt};
use std::collections::BTreeMap;

fn points() -> i64 {
    std::env::var("MLOPS_CONCURRENCY_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

fn per_batch(points: i64) -> i64 {
    if points >= 100_000 { 1000 } else { 250 }
}

#[tokio::test(flavor = "current_thread")]
async fn child_writer() {
    let (Ok(url), Ok(run), Ok(id)) = (
        std::env::var("MLOPS_CHILD_URL"),
        std::env::var("MLOPS_CHILD_RUN"),
        std::env::var("MLOPS_CHILD_ID"),
    ) else {
        return; // not a child: nothing to do
    };
    let id: i64 = id.parse().unwrap();
    let (points, per_batch) = (points(), per_batch(points()));
    let t = EmbeddedTracker::builder().with_url(url).build().unwrap();
    for b in 0..(points + per_batch - 1) / per_batch {
        let batch = Batch {
            metrics: (0..per_batch.min(points - b * per_batch))
                .map(|i| {
                    let n = b * per_batch + i;
                    Metric::new("x", id as f64, id * points + n).at(n)
                })
                .collect(),
            ..Batch::default()
        };
        t.log_batch(&run, &batch).await.unwrap();
    }
    t.log_param(&run, &format!("writer{id}"), "done")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_lose_no_point() {
    let points = points();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}/tracking", dir.path().display());
    let t = EmbeddedTracker::builder().with_url(&url).build().unwrap();
    let exp = t.create_experiment("concurrent", &[]).await.unwrap();
    let shared = t.create_run(&CreateRun::new(&exp)).await.unwrap();
    let b = t.create_run(&CreateRun::new(&exp)).await.unwrap();
    let c = t.create_run(&CreateRun::new(&exp)).await.unwrap();
    let plan = [(0, shared.id()), (1, shared.id()), (2, b.id()), (3, c.id())];
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = plan
        .iter()
        .map(|(id, run)| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_writer", "--test-threads=1"])
                .env("MLOPS_CHILD_URL", &url)
                .env("MLOPS_CHILD_RUN", run)
                .env("MLOPS_CHILD_ID", id.to_string())
                .env("MLOPS_CONCURRENCY_POINTS", points.to_string())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a writer process failed");
    }
    // A fresh tracker (no cache) reads what the four processes wrote.
    let r = EmbeddedTracker::builder().with_url(&url).build().unwrap();
    let mut expect: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (id, run) in plan {
        expect
            .entry(run)
            .or_default()
            .extend((0..points).map(|n| id * points + n));
    }
    for (run, mut steps) in expect {
        steps.sort_unstable();
        let h = r.metric_history(run, "x").await.unwrap();
        let got: Vec<i64> = h.iter().map(|m| m.step).collect();
        assert_eq!(got.len(), steps.len(), "run {run}: point count");
        assert_eq!(got, steps, "run {run}: every point exactly once");
        for m in &h {
            assert_eq!(
                m.value,
                (m.step / points) as f64,
                "value written by its writer"
            );
        }
    }
    let params = r.get_run(shared.id()).await.unwrap().data.params;
    assert_eq!(params.len(), 2, "both writers' params: {params:?}");
}
