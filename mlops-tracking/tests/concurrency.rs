//! Several processes logging into one `file://` store at once, two of them into the
//! same run: every point must be present exactly once.
//!
//! The test spawns its own binary as the child processes (`child_writer` below does
//! nothing unless the parent's environment variables are set).
#![allow(clippy::disallowed_methods)] // the child reads its job from the environment by design

use mlops_tracking::{Batch, CreateRun, EmbeddedTracker, Metric, Tracker, TrackerExt};
use std::collections::BTreeMap;

const POINTS: i64 = 5_000;
const PER_BATCH: i64 = 250;

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
    let t = EmbeddedTracker::builder().with_url(url).build().unwrap();
    for b in 0..POINTS / PER_BATCH {
        let batch = Batch {
            metrics: (0..PER_BATCH)
                .map(|i| {
                    let n = b * PER_BATCH + i;
                    Metric::new("x", id as f64, id * POINTS + n).at(n)
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
            .extend((0..POINTS).map(|n| id * POINTS + n));
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
                (m.step / POINTS) as f64,
                "value written by its writer"
            );
        }
    }
    let params = r.get_run(shared.id()).await.unwrap().data.params;
    assert_eq!(params.len(), 2, "both writers' params: {params:?}");
}
