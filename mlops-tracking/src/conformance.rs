//! The conformance suite: public async checks every [`Tracker`] backend and layer
//! must pass, and [`run_all`], which skips what [`Capabilities`](crate::Capabilities)
//! rule out. Each check works in fresh, randomly named experiments, asserts values,
//! and deletes what it created (where the backend can).
//!
//! The checks panic on failure (they are test helpers).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let t = mlops_tracking::EmbeddedTracker::builder().with_url("memory://").build().unwrap();
//! mlops_tracking::conformance::run_all(&t).await;
//! # }
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::tracker::{Tracker, TrackerExt};
use crate::types::{
    Batch, CreateRun, LifecycleStage, Metric, Run, RunStatus, SearchExperiments, SearchRuns, Tag,
    ViewType,
};
use bytes::Bytes;
use mlops_core::ErrorKind;
use std::collections::BTreeSet;

/// A fresh name for one check.
fn ns(what: &str) -> String {
    format!("conf-{what}-{}", uuid::Uuid::new_v4().simple())
}

async fn cleanup(t: &dyn Tracker, ids: &[&str]) {
    if t.capabilities().experiment_lifecycle {
        for id in ids {
            t.delete_experiment(id).await.unwrap();
        }
    }
}

/// Runs every check the backend's capabilities allow.
pub async fn run_all(t: &dyn Tracker) {
    experiments(t).await;
    runs(t).await;
    params_are_immutable(t).await;
    tags_overwrite(t).await;
    metrics_round_trip(t).await;
    limits_are_refused(t).await;
    search(t).await;
    big_batch(t).await;
    if t.capabilities().artifacts {
        artifacts(t).await;
    }
}

/// Create, read by id and name, duplicate, rename, tag, search, delete and restore.
pub async fn experiments(t: &dyn Tracker) {
    let name = ns("exp");
    let id = t
        .create_experiment(&name, &[Tag::new("owner", "team-a")])
        .await
        .unwrap();
    let e = t.get_experiment(&id).await.unwrap();
    assert_eq!(e.name, name);
    assert_eq!(e.id, id);
    assert_eq!(e.tags.get("owner").map(String::as_str), Some("team-a"));
    assert_eq!(e.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(t.get_experiment_by_name(&name).await.unwrap().id, id);
    let dup = t.create_experiment(&name, &[]).await.unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::AlreadyExists, "{dup}");

    let renamed = format!("{name}-renamed");
    t.rename_experiment(&id, &renamed).await.unwrap();
    assert_eq!(t.get_experiment_by_name(&renamed).await.unwrap().id, id);
    let gone = t.get_experiment_by_name(&name).await.unwrap_err();
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");

    t.set_experiment_tag(&id, "stage", "one").await.unwrap();
    t.set_experiment_tag(&id, "stage", "two").await.unwrap();
    assert_eq!(t.get_experiment(&id).await.unwrap().tags["stage"], "two");

    let found = t
        .search_experiments(
            &SearchExperiments::default().with_filter(format!("name = '{renamed}'")),
        )
        .await
        .unwrap();
    assert_eq!(
        found
            .items
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        vec![id.as_str()]
    );
    let liked = t
        .search_experiments(
            &SearchExperiments::default().with_filter(format!("name LIKE '{name}%'")),
        )
        .await
        .unwrap();
    assert_eq!(liked.items.len(), 1);

    let missing = t.get_experiment("987654321").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");

    if t.capabilities().experiment_lifecycle {
        t.delete_experiment(&id).await.unwrap();
        assert_eq!(
            t.get_experiment(&id).await.unwrap().lifecycle_stage,
            LifecycleStage::Deleted
        );
        let q = SearchExperiments::default().with_filter(format!("name = '{renamed}'"));
        assert!(t.search_experiments(&q).await.unwrap().items.is_empty());
        let del = t
            .search_experiments(&q.clone().with_view(ViewType::DeletedOnly))
            .await
            .unwrap();
        assert_eq!(del.items.len(), 1);
        t.restore_experiment(&id).await.unwrap();
        assert_eq!(
            t.get_experiment(&id).await.unwrap().lifecycle_stage,
            LifecycleStage::Active
        );
        cleanup(t, &[&id]).await;
    }
}

/// Create with name/tags/start time, get, update status, delete (logging refused), restore.
pub async fn runs(t: &dyn Tracker) {
    let exp = t.create_experiment(&ns("runs"), &[]).await.unwrap();
    let start = 1_700_000_000_000;
    let run = t
        .create_run(
            &CreateRun::new(&exp)
                .with_name("first")
                .with_start_time(start)
                .with_tag("kind", "baseline"),
        )
        .await
        .unwrap();
    assert_eq!(run.info.run_id.len(), 32, "run ids are 32 hex characters");
    let got = t.get_run(run.id()).await.unwrap();
    assert_eq!(got.info.run_name, "first");
    assert_eq!(got.info.start_time, start);
    assert_eq!(got.info.experiment_id, exp);
    assert_eq!(got.info.status, RunStatus::Running);
    assert_eq!(got.info.lifecycle_stage, LifecycleStage::Active);
    assert_eq!(got.data.tags["kind"], "baseline");

    let info = t
        .update_run(run.id(), RunStatus::Finished, Some(start + 5000))
        .await
        .unwrap();
    assert_eq!(info.status, RunStatus::Finished);
    assert_eq!(info.end_time, Some(start + 5000));
    assert_eq!(
        t.get_run(run.id()).await.unwrap().info.status,
        RunStatus::Finished
    );

    t.delete_run(run.id()).await.unwrap();
    assert_eq!(
        t.get_run(run.id()).await.unwrap().info.lifecycle_stage,
        LifecycleStage::Deleted
    );
    let refused = t.log_metric(run.id(), "x", 1.0, 0).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Conflict, "{refused}");
    t.restore_run(run.id()).await.unwrap();
    t.log_metric(run.id(), "x", 1.0, 0).await.unwrap();

    let missing = t
        .get_run("0123456789abcdef0123456789abcdef")
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    let no_exp = t
        .create_run(&CreateRun::new("987654321"))
        .await
        .unwrap_err();
    assert_eq!(no_exp.kind(), ErrorKind::NotFound, "{no_exp}");
    cleanup(t, &[&exp]).await;
}

async fn fresh_run(t: &dyn Tracker, what: &str) -> (String, Run) {
    let exp = t.create_experiment(&ns(what), &[]).await.unwrap();
    let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
    (exp, run)
}

/// The same value again is fine; a different value is a Conflict naming key, old and new.
pub async fn params_are_immutable(t: &dyn Tracker) {
    let (exp, run) = fresh_run(t, "params").await;
    t.log_param(run.id(), "lr", "0.01").await.unwrap();
    t.log_param(run.id(), "lr", "0.01").await.unwrap();
    let e = t.log_param(run.id(), "lr", "0.02").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("lr") && msg.contains("0.01") && msg.contains("0.02"),
        "{msg}"
    );
    let got = t.get_run(run.id()).await.unwrap();
    assert_eq!(got.data.params["lr"], "0.01");
    cleanup(t, &[&exp]).await;
}

/// Tags overwrite.
pub async fn tags_overwrite(t: &dyn Tracker) {
    let (exp, run) = fresh_run(t, "tags").await;
    t.set_tag(run.id(), "phase", "a").await.unwrap();
    t.set_tag(run.id(), "phase", "b").await.unwrap();
    t.log_batch(run.id(), &Batch::new().tag("other", "x"))
        .await
        .unwrap();
    let got = t.get_run(run.id()).await.unwrap();
    assert_eq!(got.data.tags["phase"], "b");
    assert_eq!(got.data.tags["other"], "x");
    cleanup(t, &[&exp]).await;
}

/// Histories in step order, several keys, NaN, ±inf (or MLflow's clamp), repeated steps.
pub async fn metrics_round_trip(t: &dyn Tracker) {
    let (exp, run) = fresh_run(t, "metrics").await;
    let ts = 1_700_000_000_000;
    let mut batch = Batch::new();
    for step in (0..5).rev() {
        let v = if step == 2 {
            f64::NAN
        } else {
            1.0 / (step + 1) as f64
        };
        batch = batch.metric(Metric::new("loss", v, step).at(ts + step));
    }
    batch = batch
        .metric(Metric::new("acc", 0.5, 0).at(ts))
        .metric(Metric::new("acc", 0.7, 0).at(ts + 1))
        .metric(Metric::new("inf", f64::INFINITY, 0).at(ts))
        .metric(Metric::new("inf", f64::NEG_INFINITY, 1).at(ts));
    t.log_batch(run.id(), &batch).await.unwrap();

    let loss = t.metric_history(run.id(), "loss").await.unwrap();
    assert_eq!(loss.len(), 5);
    assert_eq!(
        loss.iter().map(|m| m.step).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert!(loss[2].value.is_nan());
    assert_eq!(loss[4].value, 0.2);
    assert_eq!(loss[4].timestamp, ts + 4);

    let keys: Vec<String> = ["loss", "acc", "never"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let all = t.metric_histories(run.id(), &keys).await.unwrap();
    assert_eq!(all["loss"].len(), 5);
    assert_eq!(
        all["acc"].iter().map(|m| m.value).collect::<Vec<_>>(),
        vec![0.5, 0.7],
        "two points at one step are both kept"
    );
    assert!(all["never"].is_empty());

    let inf = t.metric_history(run.id(), "inf").await.unwrap();
    let (pos, neg) = if t.capabilities().infinite_metrics {
        (f64::INFINITY, f64::NEG_INFINITY)
    } else {
        (f64::MAX, f64::MIN)
    };
    assert_eq!(
        inf.iter().map(|m| m.value).collect::<Vec<_>>(),
        vec![pos, neg]
    );

    let got = t.get_run(run.id()).await.unwrap();
    assert_eq!(got.data.metrics["loss"].step, 4);
    assert_eq!(got.data.metrics["loss"].value, 0.2);
    cleanup(t, &[&exp]).await;
}

/// Keys > 250, param values > 6000, tag values > 8000: InvalidArgument naming key and
/// length, and nothing is stored.
pub async fn limits_are_refused(t: &dyn Tracker) {
    let (exp, run) = fresh_run(t, "limits").await;
    let long_key = "k".repeat(251);
    let e = t.log_metric(run.id(), &long_key, 1.0, 0).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("251"), "{e}");
    let e = t
        .log_param(run.id(), "big", &"v".repeat(6001))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.to_string().contains("big") && e.to_string().contains("6001"),
        "{e}"
    );
    let e = t
        .set_tag(run.id(), "big", &"v".repeat(8001))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("8001"), "{e}");
    let e = t
        .log_batch(
            run.id(),
            &Batch::new().param("ok", "1").param("bad", "v".repeat(6001)),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    t.log_param(run.id(), "edge", &"v".repeat(6000))
        .await
        .unwrap();
    let got = t.get_run(run.id()).await.unwrap();
    assert!(
        !got.data.params.contains_key("ok"),
        "a refused batch stores nothing"
    );
    assert_eq!(got.data.params["edge"].len(), 6000);
    cleanup(t, &[&exp]).await;
}

fn ids(p: &[Run]) -> Vec<String> {
    p.iter().map(|r| r.info.run_id.clone()).collect()
}

fn set(p: &[Run]) -> BTreeSet<String> {
    p.iter().map(|r| r.info.run_id.clone()).collect()
}

/// Filters, order_by and paging across two experiments; a bad filter names its column.
pub async fn search(t: &dyn Tracker) {
    let e1 = t.create_experiment(&ns("search1"), &[]).await.unwrap();
    let e2 = t.create_experiment(&ns("search2"), &[]).await.unwrap();
    let mk = |exp: &str, name: &str, start: i64| {
        CreateRun::new(exp).with_name(name).with_start_time(start)
    };
    let r1 = t.create_run(&mk(&e1, "r1", 1000)).await.unwrap();
    let r2 = t.create_run(&mk(&e1, "r2", 2000)).await.unwrap();
    let r3 = t.create_run(&mk(&e2, "r3", 3000)).await.unwrap();
    for (r, loss, lr, team) in [
        (&r1, 0.5, "0.01", "a"),
        (&r2, 1.5, "0.1", "b"),
        (&r3, 0.2, "0.01", "ab"),
    ] {
        t.log_batch(
            r.id(),
            &Batch::new()
                .metric(Metric::new("loss", loss, 0))
                .param("lr", lr)
                .tag("team", team),
        )
        .await
        .unwrap();
    }
    t.update_run(r1.id(), RunStatus::Finished, None)
        .await
        .unwrap();
    let base = SearchRuns::new([e1.clone(), e2.clone()]);
    let run = |f: &str| {
        let q = base.clone().with_filter(f);
        async move { t.search_runs(&q).await.unwrap().items }
    };
    let want = |v: &[&Run]| {
        v.iter()
            .map(|r| r.info.run_id.clone())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(set(&run("").await), want(&[&r1, &r2, &r3]));
    assert_eq!(set(&run("metrics.loss < 1").await), want(&[&r1, &r3]));
    assert_eq!(set(&run("params.lr = '0.01'").await), want(&[&r1, &r3]));
    assert_eq!(set(&run("tags.team != 'a'").await), want(&[&r2, &r3]));
    assert_eq!(
        set(&run("attributes.status = 'FINISHED'").await),
        want(&[&r1])
    );
    assert_eq!(
        set(&run("metrics.loss < 1 and params.lr = '0.01' and tags.team = 'ab'").await),
        want(&[&r3])
    );
    assert_eq!(set(&run("tags.team LIKE 'a%'").await), want(&[&r1, &r3]));
    assert_eq!(set(&run("tags.team ILIKE 'A%'").await), want(&[&r1, &r3]));
    assert_eq!(set(&run("metrics.loss >= 0.5").await), want(&[&r1, &r2]));
    assert_eq!(set(&run("metrics.`loss` > 100").await), want(&[]));

    let desc = t
        .search_runs(&base.clone().with_order_by("metrics.loss DESC"))
        .await
        .unwrap();
    assert_eq!(ids(&desc.items), ids(&[r2.clone(), r1.clone(), r3.clone()]));
    let by_start = t.search_runs(&base).await.unwrap();
    assert_eq!(
        ids(&by_start.items),
        ids(&[r3.clone(), r2.clone(), r1.clone()]),
        "default order: start_time DESC"
    );

    let mut token = None;
    let mut pages = Vec::new();
    loop {
        let q = base
            .clone()
            .with_order_by("metrics.loss ASC")
            .with_max_results(1)
            .with_page_token(token);
        let page = t.search_runs(&q).await.unwrap();
        assert!(page.items.len() <= 1);
        pages.extend(page.items);
        token = page.next_page_token;
        if token.is_none() {
            break;
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(ids(&pages), ids(&[r3.clone(), r1.clone(), r2.clone()]));

    let bad = t
        .search_runs(&base.clone().with_filter("metrics.loss <> 1"))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
    assert!(bad.to_string().contains("column 14"), "{bad}");

    t.delete_run(r2.id()).await.unwrap();
    assert_eq!(set(&run("").await), want(&[&r1, &r3]));
    let all = t
        .search_runs(&base.clone().with_view(ViewType::All))
        .await
        .unwrap();
    assert_eq!(set(&all.items), want(&[&r1, &r2, &r3]));
    cleanup(t, &[&e1, &e2]).await;
}

/// One call with more than MLflow's per-request limits: nothing is lost.
pub async fn big_batch(t: &dyn Tracker) {
    let (exp, run) = fresh_run(t, "big").await;
    let mut b = Batch::new();
    for k in 0..5 {
        for step in 0..500 {
            b = b.metric(Metric::new(format!("m{k}"), step as f64, step).at(1_000 + step));
        }
    }
    for i in 0..150 {
        b = b
            .param(format!("p{i}"), i.to_string())
            .tag(format!("t{i}"), "x");
    }
    t.log_batch(run.id(), &b).await.unwrap();
    let keys: Vec<String> = (0..5).map(|k| format!("m{k}")).collect();
    let h = t.metric_histories(run.id(), &keys).await.unwrap();
    for k in &keys {
        assert_eq!(h[k].len(), 500, "{k}");
        assert_eq!(h[k][499].value, 499.0);
    }
    let got = t.get_run(run.id()).await.unwrap();
    assert_eq!(got.data.params.len(), 150);
    assert_eq!(got.data.params["p149"], "149");
    assert!((0..150).all(|i| got.data.tags.contains_key(&format!("t{i}"))));
    cleanup(t, &[&exp]).await;
}

/// Log bytes at nested paths, list, download, digests; bad paths refused.
pub async fn artifacts(t: &dyn Tracker) {
    let (exp, run) = fresh_run(t, "artifacts").await;
    let weights = Bytes::from(vec![7u8; 3000]);
    let a = t
        .log_artifact(run.id(), "model/weights.bin", weights.clone())
        .await
        .unwrap();
    assert_eq!(a.path, "model/weights.bin");
    assert_eq!(a.size, 3000);
    assert_eq!(a.digest, mlops_core::Digest::of(&weights));
    t.log_artifact(run.id(), "README.md", Bytes::from_static(b"# hi"))
        .await
        .unwrap();

    let root = t.list_artifacts(run.id(), None).await.unwrap();
    let names: Vec<(&str, bool)> = root.iter().map(|e| (e.path.as_str(), e.is_dir)).collect();
    assert_eq!(names, vec![("README.md", false), ("model", true)]);
    let sub = t.list_artifacts(run.id(), Some("model")).await.unwrap();
    assert_eq!(sub.len(), 1);
    assert_eq!(sub[0].path, "model/weights.bin");
    assert_eq!(sub[0].size, Some(3000));
    assert!(
        t.list_artifacts(run.id(), Some("nope"))
            .await
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        t.download_artifact(run.id(), "model/weights.bin")
            .await
            .unwrap(),
        weights
    );
    let missing = t.download_artifact(run.id(), "nope.txt").await.unwrap_err();
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    let bad = t
        .log_artifact(run.id(), "../escape", Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
    cleanup(t, &[&exp]).await;
}
