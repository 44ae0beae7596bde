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

const ONLINE_TRAIT_METHODS: &[&str] = &[
    "capabilities",
    "write",
    "read",
    "set_watermark",
    "watermark",
    "delete_view",
];
const STORE_METHODS: &[&str] = &[
    "apply",
    "materialize",
    "materialize_incremental",
    "definitions",
];

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
        .check_complete(ONLINE_TRAIT_METHODS)
        .unwrap();
    FEATURE_STORE_METHODS.check_complete(STORE_METHODS).unwrap();
    assert!(ONLINE_STORE_METHODS.check_complete(&["write"]).is_err());
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

#[test]
fn public_types_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Governed<EmbeddedOnlineStore>>();
    assert_send_sync::<Audit<EmbeddedOnlineStore>>();
    assert_send_sync::<GovernanceLayer>();
    assert_send_sync::<AuditLayer>();
    assert_send_sync::<GovernedFeatureStore>();
}
