#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::types::{Batch, CreateRun, RunStatus, SearchRuns};
use crate::{EmbeddedTracker, Tracker};
use bytes::Bytes;
use mlops_core::audit::{AuditLog, AuditQuery, Outcome};
use mlops_core::policy::{AllowAll, Policy};
use mlops_core::{ErrorKind, Principal, Storage};
use std::sync::Arc;

/// The source that declares [`Tracker`]: the table is checked against the trait
/// as written, so a trait method added without a rule in [`TRACKER_METHODS`] fails
/// `table_is_complete`; the impls carry `#[deny(clippy::missing_trait_methods)]`.
const TRAIT_SOURCE: &str = include_str!("../tracker.rs");
const TRAIT: &str = "trait Tracker";

/// Local metadata: listed as reads, never checked or audited.
const LOCAL: &[&str] = &["capabilities", "uri"];

const POLICY: &str = r#"
[[roles]]
name = "owner"
allow = [{ actions = ["admin"], resources = ["experiment:*"] }]
[[roles]]
name = "viewer"
allow = [{ actions = ["read"], resources = ["experiment:*"] }]
[[bindings]]
role = "owner"
principals = ["bob"]
[[bindings]]
role = "viewer"
principals = ["alice"]
"#;

#[test]
fn table_is_complete() {
    TRACKER_METHODS.check_declared(TRAIT_SOURCE, TRAIT).unwrap();
    let methods = mlops_core::policy::declared_methods(TRAIT_SOURCE, TRAIT).unwrap();
    assert_eq!(methods.len(), TRACKER_METHODS.rules.len());
    // the real trait with one more method: the check fails, naming it
    let open = TRAIT_SOURCE.find("pub trait Tracker:").unwrap();
    let open = open + TRAIT_SOURCE[open..].find('{').unwrap() + 1;
    let more = format!(
        "{}\n    async fn purge_run(&self, run_id: &str) -> Result<()>;{}",
        &TRAIT_SOURCE[..open],
        &TRAIT_SOURCE[open..]
    );
    let e = TRACKER_METHODS.check_declared(&more, TRAIT).unwrap_err();
    assert!(
        e.to_string().contains("methods without a rule: purge_run"),
        "{e}"
    );
}

/// An experiment `e-<method>` with one run; deleted first where the call restores.
async fn seed(b: &dyn Tracker, method: &str) -> (String, String) {
    let exp = b
        .create_experiment(&format!("e-{method}"), &[])
        .await
        .unwrap();
    let run = b.create_run(&CreateRun::new(&exp)).await.unwrap();
    let run_id = run.id().to_string();
    match method {
        "restore_experiment" => b.delete_experiment(&exp).await.unwrap(),
        "restore_run" => b.delete_run(&run_id).await.unwrap(),
        _ => {}
    }
    (exp, run_id)
}

/// The call of `method` (table-driven: every mutating method has an arm).
async fn call(t: &dyn Tracker, method: &str, exp: &str, run: &str) -> crate::Result<()> {
    match method {
        "create_experiment" => t
            .create_experiment(&format!("new-{exp}"), &[])
            .await
            .map(drop),
        "rename_experiment" => t.rename_experiment(exp, &format!("renamed-{exp}")).await,
        "set_experiment_tag" => t.set_experiment_tag(exp, "k", "v").await,
        "delete_experiment" => t.delete_experiment(exp).await,
        "restore_experiment" => t.restore_experiment(exp).await,
        "create_run" => t.create_run(&CreateRun::new(exp)).await.map(drop),
        "update_run" => t
            .update_run(run, RunStatus::Finished, Some(1))
            .await
            .map(drop),
        "delete_run" => t.delete_run(run).await,
        "restore_run" => t.restore_run(run).await,
        "log_batch" => t.log_batch(run, &Batch::new().param("p", "1")).await,
        "log_artifact" => t
            .log_artifact(run, "a.txt", Bytes::from_static(b"x"))
            .await
            .map(drop),
        other => panic!("no call for mutating method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_mutating_method_refused_allowed_and_audited() {
    let backend = Arc::new(
        EmbeddedTracker::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy = Arc::new(Policy::from_toml(POLICY).unwrap());
    let stack = |who: &str| {
        let p = Principal::user(who);
        AuditLayer::new(log.clone(), p.clone())
            .layer(GovernanceLayer::new(policy.clone(), p).layer(backend.clone()))
    };
    let (alice, bob) = (stack("alice"), stack("bob"));
    let mut n = 0;
    for rule in TRACKER_METHODS.mutating() {
        let m = rule.method;
        let (exp, run) = seed(&*backend, m).await;
        let err = call(&alice, m, &exp, &run).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{m}: {err}");
        let s = err.to_string();
        assert!(
            s.contains("alice may not") && s.contains(rule.action.as_str()),
            "{m}: {s}"
        );
        call(&bob, m, &exp, &run)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        n += 1;
        log.flush().await.unwrap();
        let want = format!("Tracker::{m}");
        let ev = log.query(&AuditQuery::new()).await.unwrap();
        let mine: Vec<_> = ev
            .iter()
            .filter(|e| e.details.get("method") == Some(&want))
            .collect();
        assert_eq!(mine.len(), 2, "{m}: {mine:?}");
        assert_eq!(
            (mine[0].principal.as_str(), mine[0].outcome),
            ("alice", Outcome::Denied)
        );
        assert_eq!(
            (mine[1].principal.as_str(), mine[1].outcome),
            ("bob", Outcome::Allowed)
        );
        assert_eq!(mine[0].action, rule.action);
        let res = mine[0].resource.to_string();
        if m == "create_experiment" {
            assert_eq!(res, format!("experiment:new-{exp}"));
        } else {
            assert_eq!(res, format!("experiment:{exp}"), "{m}");
        }
    }
    assert_eq!(n, 11);
    let report = log.verify().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.records, 22);
}

/// The call of read `method` (table-driven: every checked read has an arm).
async fn read_call(t: &dyn Tracker, method: &str, exp: &str, run: &str) -> crate::Result<()> {
    match method {
        "get_experiment" => t.get_experiment(exp).await.map(drop),
        "get_experiment_by_name" => t.get_experiment_by_name("e-reads").await.map(drop),
        "search_experiments" => t.search_experiments(&Default::default()).await.map(drop),
        "get_run" => t.get_run(run).await.map(drop),
        "search_runs" => t.search_runs(&SearchRuns::new([exp])).await.map(drop),
        "metric_histories" => t
            .metric_histories(run, &["loss".to_string()])
            .await
            .map(drop),
        "list_artifacts" => t.list_artifacts(run, None).await.map(drop),
        "download_artifact" => t.download_artifact(run, "a.txt").await.map(drop),
        other => panic!("no call for read method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_read_refused_without_read_and_audited_when_configured() {
    let backend = Arc::new(
        EmbeddedTracker::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let (exp, run) = seed(&*backend, "reads").await;
    backend
        .log_artifact(&run, "a.txt", Bytes::from_static(b"x"))
        .await
        .unwrap();
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let quiet_log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy = Arc::new(Policy::from_toml(POLICY).unwrap());
    let stack = |who: &str, log: &AuditLog, reads: bool| {
        let p = Principal::user(who);
        AuditLayer::new(log.clone(), p.clone())
            .with_audit_reads(reads)
            .layer(GovernanceLayer::new(policy.clone(), p).layer(backend.clone()))
    };
    // alice is a viewer, carol holds nothing
    let (alice, carol) = (stack("alice", &log, true), stack("carol", &log, true));
    let quiet = stack("alice", &quiet_log, false);
    let mut n = 0;
    for rule in TRACKER_METHODS
        .rules
        .iter()
        .filter(|r| !r.mutating && !LOCAL.contains(&r.method))
    {
        let m = rule.method;
        assert_eq!(rule.action, mlops_core::Action::Read, "{m}");
        let e = read_call(&carol, m, &exp, &run).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{m}: {e}");
        assert!(
            e.to_string().contains("carol may not read experiment:"),
            "{m}: {e}"
        );
        read_call(&alice, m, &exp, &run)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        read_call(&quiet, m, &exp, &run).await.unwrap();
        log.flush().await.unwrap();
        let want = format!("Tracker::{m}");
        let ev = log.query(&AuditQuery::new()).await.unwrap();
        let mine: Vec<String> = ev
            .iter()
            .filter(|e| e.details.get("method") == Some(&want))
            .map(|e| format!("{} {} {}", e.principal, e.action, e.outcome))
            .collect();
        assert_eq!(mine, ["carol read denied", "alice read allowed"], "{m}");
        // a run call names its run even when carol may not resolve its experiment
        let run_detail = ev
            .iter()
            .filter(|e| e.details.get("method") == Some(&want))
            .map(|e| e.details.get("run").cloned())
            .collect::<Vec<_>>();
        let on_run = !matches!(
            m,
            "get_experiment" | "get_experiment_by_name" | "search_experiments" | "search_runs"
        );
        let want_run = on_run.then(|| run.clone());
        assert_eq!(run_detail, [want_run.clone(), want_run], "{m}");
        n += 1;
    }
    assert_eq!(n, 8);
    quiet_log.flush().await.unwrap();
    assert!(
        quiet_log
            .query(&AuditQuery::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(carol.uri(), backend.uri());
    let r = log.verify().await.unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!(r.records, 16);
}

#[tokio::test]
async fn layers_pass_conformance() {
    let p = Principal::user("ci");
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let backend = EmbeddedTracker::builder()
        .with_url("memory://")
        .build()
        .unwrap();
    let t = AuditLayer::new(log.clone(), p.clone())
        .with_audit_reads(true)
        .layer(GovernanceLayer::new(Arc::new(AllowAll), p).layer(backend));
    crate::conformance::run_all(&t).await;
    log.flush().await.unwrap();
    let report = log.verify().await.unwrap();
    assert!(report.is_clean() && report.records > 20, "{report:?}");
}

#[test]
fn public_types_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Governed<EmbeddedTracker>>();
    assert_send_sync::<Audit<EmbeddedTracker>>();
    assert_send_sync::<GovernanceLayer>();
    assert_send_sync::<AuditLayer>();
}
