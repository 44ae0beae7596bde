//! `mlops experiments ...` and `mlops runs ...` as a process, over a seeded embedded tracker.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{json, mlops, run};
use mlops_tracking::{Batch, CreateRun, EmbeddedTracker, Metric, Tracker};

async fn seed(url: &str) -> (String, String) {
    let t = EmbeddedTracker::builder().with_url(url).build().unwrap();
    let exp = t.create_experiment("fraud", &[]).await.unwrap();
    t.create_experiment("churn", &[]).await.unwrap();
    let mut ids = vec![];
    for (name, lr, auc) in [("a", "0.01", 0.91), ("b", "0.1", 0.7)] {
        let r = t
            .create_run(&CreateRun::new(&exp).with_name(name))
            .await
            .unwrap();
        t.log_batch(
            r.id(),
            &Batch::new()
                .param("lr", lr)
                .metric(Metric::new("auc", auc, 0)),
        )
        .await
        .unwrap();
        ids.push(r.id().to_string());
    }
    (ids[0].clone(), ids[1].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiments_and_runs() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    // the local profile's development tracking store
    let url = format!("file://{}/.mlops/development/tracking", dir.display());
    let (a, b) = seed(&url).await;

    let exps = json(dir, &["experiments", "list"]);
    let mut names: Vec<&str> = exps
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["churn", "fraud"]);
    let f = json(dir, &["experiments", "list", "--filter", "name = 'fraud'"]);
    assert_eq!(f.as_array().unwrap().len(), 1);

    let runs = json(
        dir,
        &[
            "runs",
            "list",
            "--experiment",
            "fraud",
            "--order-by",
            "metrics.auc DESC",
        ],
    );
    assert_eq!(runs[0]["info"]["run_name"], "a");
    assert_eq!(runs[1]["info"]["run_name"], "b");
    let good = json(
        dir,
        &[
            "runs",
            "list",
            "--experiment",
            "fraud",
            "--filter",
            "metrics.auc > 0.8",
        ],
    );
    assert_eq!(good.as_array().unwrap().len(), 1);
    assert_eq!(good[0]["data"]["params"]["lr"], "0.01");
    let (t, _) = run(dir, &["runs", "list", "--experiment", "fraud"], 0);
    assert!(t.starts_with("run_id") && t.contains("auc=0.91"), "{t}");

    let show = json(dir, &["runs", "show", &a]);
    assert_eq!(show["data"]["metrics"]["auc"]["value"], 0.91);
    let cmp = json(dir, &["runs", "compare", &a, &b]);
    assert_eq!(cmp["values"]["metrics.auc"], serde_json::json!([0.91, 0.7]));
    assert_eq!(
        cmp["values"]["params.lr"],
        serde_json::json!(["0.01", "0.1"])
    );

    // --tracking-uri / MLFLOW_TRACKING_URI override the profile
    let other = format!("file://{}/elsewhere", dir.display());
    assert_eq!(
        json(dir, &["--tracking-uri", &other, "experiments", "list"]),
        serde_json::json!([])
    );
    let out = mlops(dir)
        .env("MLFLOW_TRACKING_URI", &url)
        .args(["--json", "runs", "show", &b])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["info"]["run_name"], "b");

    // bad input
    let (_, e) = run(dir, &["runs", "list", "--experiment", "nope"], 2);
    assert!(e.contains("nope") && e.contains("experiments list"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "runs",
            "list",
            "--experiment",
            "fraud",
            "--filter",
            "metrics.auc >>> 1",
        ],
        2,
    );
    assert!(e.contains("hint:"), "{e}");
    let (_, e) = run(dir, &["runs", "show", "0000"], 2);
    assert!(e.contains("0000"), "{e}");
    let (_, e) = run(dir, &["runs", "compare", &a], 2);
    assert!(e.contains("2 values") || e.contains("RUN_IDS"), "{e}");
    // an MLflow server that is not there: exit 2, the hint names the server
    let t0 = std::time::Instant::now();
    let (_, e) = run(
        dir,
        &[
            "--tracking-uri",
            "mlflow://127.0.0.1:9",
            "experiments",
            "list",
        ],
        2,
    );
    assert!(
        e.contains("http://127.0.0.1:9") && e.contains("hint:") && e.contains("server"),
        "{e}"
    );
    eprintln!("unreachable MLflow answered in {:?}", t0.elapsed());
    let (_, e) = run(
        dir,
        &["--tracking-uri", "ftp://x", "experiments", "list"],
        2,
    );
    assert!(e.contains("ftp://x") && e.contains("hint:"), "{e}");
    for sub in [
        ["experiments", "list"],
        ["runs", "list"],
        ["runs", "show"],
        ["runs", "compare"],
    ] {
        let (so, _) = run(dir, &[sub[0], sub[1], "--help"], 0);
        assert!(so.contains("Example"), "{sub:?}: {so}");
    }
}
