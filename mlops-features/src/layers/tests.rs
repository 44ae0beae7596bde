#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::{
    Definitions, EmbeddedOnlineStore, Entity, FeatureStore, FeatureView, OnlineRow, OnlineStore,
    Source, ValueType,
};
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use mlops_core::audit::{AuditLog, AuditQuery, Outcome};
use mlops_core::layer::AuditSink;
use mlops_core::policy::{AllowAll, Policy};
use mlops_core::{ErrorKind, Principal, Storage};
use std::sync::Arc;

/// The source that declares [`OnlineStore`]: [`ONLINE_STORE_METHODS`] is checked
/// against the trait as written, so a trait method added without a rule fails
/// `tables_are_complete`.
const ONLINE_SOURCE: &str = include_str!("../online/mod.rs");
/// The source of [`FeatureStore`]'s inherent methods.
const STORE_SOURCE: &str = include_str!("../store.rs");
/// [`FeatureStore`]'s public methods that [`GovernedFeatureStore`] leaves to
/// `inner()`: construction and reads. Every other public method must have a rule
/// in [`FEATURE_STORE_METHODS`], so a new one (say `delete_view`) fails
/// `tables_are_complete` until it is governed or listed here.
const UNGOVERNED: &[&str] = &[
    "new",
    "refresh",
    "version",
    "definitions_at",
    "diff",
    "get_historical_features",
    "get_online_features",
];

/// `source` with `decl` added as the first item of `header`'s block.
fn with_method(source: &str, header: &str, decl: &str) -> String {
    let at = source.find(header).unwrap();
    let open = at + source[at..].find('{').unwrap() + 1;
    format!("{}\n    {decl}{}", &source[..open], &source[open..])
}

fn governed_store_methods(source: &str) -> Vec<String> {
    mlops_core::policy::declared_methods(source, "impl FeatureStore")
        .unwrap()
        .into_iter()
        .filter(|m| !UNGOVERNED.contains(&m.as_str()))
        .collect()
}

const POLICY: &str = r#"
[[roles]]
name = "owner"
allow = [{ actions = ["admin"], resources = ["online_store:*", "feature_view:*"] }]
[[roles]]
name = "viewer"
allow = [{ actions = ["read"], resources = ["online_store:*", "feature_view:*"] }]
[[bindings]]
role = "owner"
principals = ["bob"]
[[bindings]]
role = "viewer"
principals = ["alice"]
"#;

#[test]
fn tables_are_complete() {
    ONLINE_STORE_METHODS
        .check_declared(ONLINE_SOURCE, "trait OnlineStore")
        .unwrap();
    let governed = governed_store_methods(STORE_SOURCE);
    let names: Vec<&str> = governed.iter().map(String::as_str).collect();
    FEATURE_STORE_METHODS.check_complete(&names).unwrap();
    // the exemption list cannot go stale
    let all = mlops_core::policy::declared_methods(STORE_SOURCE, "impl FeatureStore").unwrap();
    for m in UNGOVERNED {
        assert!(
            all.iter().any(|d| d == m),
            "{m} is no longer a FeatureStore method"
        );
    }
    // the real sources with one more method: both checks fail, naming it
    let more = with_method(
        ONLINE_SOURCE,
        "pub trait OnlineStore:",
        "async fn scan(&self, view: &str) -> Result<()>;",
    );
    let e = ONLINE_STORE_METHODS
        .check_declared(&more, "trait OnlineStore")
        .unwrap_err();
    assert!(
        e.to_string().contains("methods without a rule: scan"),
        "{e}"
    );
    let more = with_method(
        STORE_SOURCE,
        "impl FeatureStore {",
        "pub async fn delete_view(&self, name: &str) -> Result<()> { Ok(()) }",
    );
    let governed = governed_store_methods(&more);
    let names: Vec<&str> = governed.iter().map(String::as_str).collect();
    let e = FEATURE_STORE_METHODS.check_complete(&names).unwrap_err();
    assert!(
        e.to_string()
            .contains("methods without a rule: delete_view"),
        "{e}"
    );
}

async fn call(s: &dyn OnlineStore, method: &str) -> crate::Result<()> {
    let view = format!("v-{method}");
    match method {
        "write" => {
            let row = OnlineRow {
                key: b"k".to_vec(),
                event_ts: 1,
                created_ts: 1,
                value: Bytes::from_static(b"v"),
            };
            s.write(&view, vec![row]).await
        }
        "set_watermark" => s.set_watermark(&view, 5).await,
        "delete_view" => s.delete_view(&view).await,
        other => panic!("no call for mutating method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_online_store_mutation_refused_allowed_and_audited() {
    let backend = Arc::new(EmbeddedOnlineStore::builder().in_memory().build().unwrap());
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy = Arc::new(Policy::from_toml(POLICY).unwrap());
    let stack = |who: &str| {
        let p = Principal::user(who);
        AuditLayer::new(log.clone(), p.clone())
            .layer(GovernanceLayer::new(policy.clone(), p).layer(backend.clone()))
    };
    let (alice, bob) = (stack("alice"), stack("bob"));
    let mut n = 0;
    for rule in ONLINE_STORE_METHODS.mutating() {
        let m = rule.method;
        let err = call(&alice, m).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{m}");
        assert!(
            err.to_string()
                .contains(&format!("alice may not {} online_store:v-{m}", rule.action)),
            "{err}"
        );
        call(&bob, m).await.unwrap();
        n += 1;
        log.flush().await.unwrap();
        let want = format!("OnlineStore::{m}");
        let ev = log.query(&AuditQuery::new()).await.unwrap();
        let mine: Vec<_> = ev
            .iter()
            .filter(|e| e.details.get("method") == Some(&want))
            .collect();
        assert_eq!(mine.len(), 2);
        assert_eq!(
            (mine[0].principal.as_str(), mine[0].outcome),
            ("alice", Outcome::Denied)
        );
        assert_eq!(
            (mine[1].principal.as_str(), mine[1].outcome),
            ("bob", Outcome::Allowed)
        );
    }
    assert_eq!(n, 3);
    assert_eq!(backend.watermark("v-set_watermark").await.unwrap(), Some(5));
    assert!(log.verify().await.unwrap().is_clean());
}

#[tokio::test]
async fn online_layers_pass_conformance() {
    let p = Principal::user("ci");
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let s = AuditLayer::new(log.clone(), p.clone())
        .with_audit_reads(true)
        .layer(
            GovernanceLayer::new(Arc::new(AllowAll), p)
                .layer(EmbeddedOnlineStore::builder().in_memory().build().unwrap()),
        );
    crate::conformance::run_all(&s).await;
    log.flush().await.unwrap();
    let r = log.verify().await.unwrap();
    assert!(r.is_clean() && r.records > 3, "{r:?}");
}

const PIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/pit");

fn defs() -> Definitions {
    let url = format!(
        "file://{}",
        std::fs::canonicalize(format!("{PIT}/fv0.parquet"))
            .unwrap()
            .display()
    );
    Definitions::new()
        .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64))
        .with_feature_view(
            FeatureView::new("fv0", Source::parquet(url).with_created_column("created"))
                .with_entity("driver")
                .with_feature("trips", ValueType::Int64),
        )
}

async fn store_call(
    fs: &GovernedFeatureStore,
    online: &dyn OnlineStore,
    method: &str,
) -> crate::Result<()> {
    let t = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    match method {
        "apply" => fs.apply(&defs()).await.map(drop),
        "materialize" => fs
            .materialize(online, &["fv0"], Utc.timestamp_opt(0, 0).unwrap(), t)
            .await
            .map(drop),
        "materialize_incremental" => fs
            .materialize_incremental(online, &["fv0"], t)
            .await
            .map(drop),
        other => panic!("no call for mutating method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_feature_store_mutation_refused_allowed_and_audited() {
    let storage = Storage::memory();
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy: Arc<Policy> = Arc::new(Policy::from_toml(POLICY).unwrap());
    let online = EmbeddedOnlineStore::builder().in_memory().build().unwrap();
    let stack = |who: &str| {
        let p = Principal::user(who);
        GovernedFeatureStore::new(
            FeatureStore::new(storage.clone()).unwrap(),
            policy.clone(),
            p.clone(),
        )
        .with_audit(AuditSink::new(log.clone(), p))
    };
    let (alice, bob) = (stack("alice"), stack("bob"));
    for rule in FEATURE_STORE_METHODS.mutating() {
        let m = rule.method;
        let e = store_call(&alice, &online, m).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{m}: {e}");
        assert!(
            e.to_string()
                .contains(&format!("alice may not {} feature_view:fv0", rule.action)),
            "{e}"
        );
        store_call(&bob, &online, m)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
    }
    assert!(online.watermark("fv0").await.unwrap().is_some());
    assert_eq!(alice.definitions().await.unwrap(), defs());
    log.flush().await.unwrap();
    let ev = log.query(&AuditQuery::new()).await.unwrap();
    let got: Vec<String> = ev
        .iter()
        .map(|e| format!("{} {} {} {}", e.principal, e.action, e.resource, e.outcome))
        .collect();
    assert_eq!(
        got,
        [
            "alice write feature_view:fv0 denied",
            "bob write feature_view:fv0 allowed",
            "alice materialize feature_view:fv0 denied",
            "bob materialize feature_view:fv0 allowed",
            "alice materialize feature_view:fv0 denied",
            "bob materialize feature_view:fv0 allowed",
        ]
    );
    assert!(log.verify().await.unwrap().is_clean());
}

const READERS: &str = r#"
[[roles]]
name = "viewer"
allow = [{ actions = ["read"], resources = ["online_store:*", "feature_view:*"] }]
[[bindings]]
role = "viewer"
principals = ["alice"]
"#;

/// The call of read `method` (table-driven: every checked read has an arm).
async fn online_read(s: &dyn OnlineStore, method: &str) -> crate::Result<()> {
    match method {
        "read" => s.read("v-read", &[b"k".to_vec()]).await.map(drop),
        "read_into" => {
            struct Count(usize);
            impl crate::RowSink for Count {
                fn push(&mut self, _: Option<crate::StoredRow<'_>>) {
                    self.0 += 1;
                }
            }
            let mut sink = Count(0);
            s.read_into("v-read", &[b"k", b"j"], &mut sink).await?;
            assert_eq!(sink.0, 2, "one push per key");
            Ok(())
        }
        "watermark" => s.watermark("v-read").await.map(drop),
        other => panic!("no call for read method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_read_refused_without_read_and_audited_when_configured() {
    let backend = Arc::new(EmbeddedOnlineStore::builder().in_memory().build().unwrap());
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let quiet_log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy: Arc<Policy> = Arc::new(Policy::from_toml(READERS).unwrap());
    let stack = |who: &str, log: &AuditLog, reads: bool| {
        let p = Principal::user(who);
        AuditLayer::new(log.clone(), p.clone())
            .with_audit_reads(reads)
            .layer(GovernanceLayer::new(policy.clone(), p).layer(backend.clone()))
    };
    // alice is a viewer, carol holds nothing
    let (alice, carol) = (stack("alice", &log, true), stack("carol", &log, true));
    let quiet = stack("alice", &quiet_log, false);
    let reads: Vec<&str> = ONLINE_STORE_METHODS
        .rules
        .iter()
        .filter(|r| !r.mutating && r.method != "capabilities")
        .map(|r| r.method)
        .collect();
    assert_eq!(reads, ["read", "read_into", "watermark"]);
    for m in reads {
        let e = online_read(&carol, m).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{m}: {e}");
        assert!(
            e.to_string()
                .contains("carol may not read online_store:v-read"),
            "{e}"
        );
        online_read(&alice, m).await.unwrap();
        online_read(&quiet, m).await.unwrap();
    }

    // the feature store's read: definitions
    let storage = Storage::memory();
    FeatureStore::new(storage.clone())
        .unwrap()
        .apply(&defs())
        .await
        .unwrap();
    let fs = |who: &str, reads: bool| {
        let p = Principal::user(who);
        GovernedFeatureStore::new(
            FeatureStore::new(storage.clone()).unwrap(),
            policy.clone(),
            p.clone(),
        )
        .with_audit(AuditSink::new(log.clone(), p).with_audit_reads(reads))
    };
    let e = fs("carol", true).definitions().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(
        e.to_string().contains("carol may not read feature_view:*"),
        "{e}"
    );
    assert_eq!(fs("alice", true).definitions().await.unwrap(), defs());
    fs("alice", false).definitions().await.unwrap();

    log.flush().await.unwrap();
    let got: Vec<String> = log
        .query(&AuditQuery::new())
        .await
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {} {}",
                e.details["method"], e.principal, e.action, e.resource, e.outcome
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "OnlineStore::read carol read online_store:v-read denied",
            "OnlineStore::read alice read online_store:v-read allowed",
            "OnlineStore::read_into carol read online_store:v-read denied",
            "OnlineStore::read_into alice read online_store:v-read allowed",
            "OnlineStore::watermark carol read online_store:v-read denied",
            "OnlineStore::watermark alice read online_store:v-read allowed",
            "FeatureStore::definitions carol read feature_view:* denied",
            "FeatureStore::definitions alice read feature_view:* allowed",
        ]
    );
    quiet_log.flush().await.unwrap();
    assert!(
        quiet_log
            .query(&AuditQuery::new())
            .await
            .unwrap()
            .is_empty()
    );
    let r = log.verify().await.unwrap();
    assert!(r.is_clean() && r.records == 8, "{r:?}");
}

#[test]
fn public_types_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Governed<EmbeddedOnlineStore>>();
    assert_send_sync::<Audit<EmbeddedOnlineStore>>();
    assert_send_sync::<GovernanceLayer>();
    assert_send_sync::<AuditLayer>();
    assert_send_sync::<GovernedFeatureStore>();
}
