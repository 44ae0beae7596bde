//! The promotion workflow: typed refusals with clear messages, history, rollback,
//! aliases, a policy-backed authorizer, and cross-registry copies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns panic on failure by design

use async_trait::async_trait;
use mlops_core::name::ModelName;
use mlops_core::path::ArtifactPath;
use mlops_core::{
    Action, Comparison, ErrorKind, GateReport, LineageRef, Principal, ResourceRef, RunRef, Storage,
};
use mlops_registry::promotion::{
    Authorizer, EnvironmentPolicy, Environments, Gate, LedgerEvent, Promotions, copy_version,
};
use mlops_registry::{
    EmbeddedRegistry, Error, ModelRegistry, ModelVersion, NewModelVersion, RegistryExt, Unmet,
};
use std::collections::BTreeMap;
use std::sync::Arc;

fn alice() -> Principal {
    Principal::user("alice").with_roles(["ml-engineer"])
}
fn bob() -> Principal {
    Principal::user("bob").with_roles(["release-manager"])
}
fn carol() -> Principal {
    Principal::user("carol").with_roles(["release-manager"])
}

async fn setup(envs: Environments) -> (Arc<dyn ModelRegistry>, Promotions, ModelName) {
    let reg: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let m: ModelName = "fraud".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    for i in 1..=3 {
        reg.create_version(
            &m,
            NewModelVersion::new(&alice())
                .with_artifact(ArtifactPath::new("model.bin").unwrap(), format!("w{i}"))
                .with_metric("auc", 0.8 + f64::from(i) / 100.0),
        )
        .await
        .unwrap();
    }
    let p = Promotions::new(reg.clone(), Storage::memory()).with_environments(envs);
    (reg, p, m)
}

fn strict() -> Environments {
    Environments::default()
        .with_policy(
            "staging",
            EnvironmentPolicy::default()
                .with_approvals(2)
                .with_approver_roles(["release-manager"])
                .with_required_gates(["no_feature_drift", "auc"]),
        )
        .unwrap()
}

#[tokio::test]
async fn self_approval_is_refused() {
    let (_, p, m) = setup(strict()).await;
    let req = p
        .request(&m, 1, "staging", &bob(), "ship it")
        .await
        .unwrap();
    let e = p.approve(&req, &bob(), "mine").await.unwrap_err();
    assert!(matches!(e, Error::SelfApproval { .. }));
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        e.to_string(),
        "self-approval refused: bob requested the promotion of fraud version 1 to staging \
         and may not approve it (four-eyes rule)"
    );
    // a policy that allows it lets the requester count
    let lax = Environments::default()
        .with_policy(
            "qa",
            EnvironmentPolicy::default()
                .with_approvals(1)
                .with_requester_may_approve(true),
        )
        .unwrap();
    let (_, p, m) = setup(lax).await;
    let req = p.request(&m, 1, "qa", &bob(), "solo").await.unwrap();
    p.approve(&req, &bob(), "mine").await.unwrap();
    assert_eq!(p.promote(&req, &bob()).await.unwrap().version, 1);
}

#[tokio::test]
async fn missing_role_is_refused() {
    let (_, p, m) = setup(strict()).await;
    let req = p.request(&m, 1, "staging", &bob(), "x").await.unwrap();
    let e = p.approve(&req, &alice(), "ok").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        e.to_string(),
        "alice may not approve promotions to staging: needs one of the roles [release-manager], \
         has [ml-engineer]"
    );
}

#[tokio::test]
async fn one_error_lists_every_unmet_requirement() {
    let (reg, p, m) = setup(strict()).await;
    let req = p
        .request(&m, 2, "staging", &alice(), "better")
        .await
        .unwrap();
    p.approve(&req, &bob(), "ok").await.unwrap();
    p.approve(&req, &bob(), "again").await.unwrap(); // same principal counts once
    p.attach_report(
        &req,
        GateReport::evaluate(
            "no_feature_drift",
            "mlops-monitor",
            0.31,
            Comparison::Lt,
            0.1,
        )
        .with_details("psi of amount 0.31 >= 0.1"),
    )
    .await
    .unwrap();
    let e = p.promote(&req, &alice()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let Error::PromotionBlocked { unmet, .. } = &e else {
        panic!("{e}")
    };
    assert_eq!(
        unmet,
        &vec![
            Unmet::Approvals { have: 1, need: 2 },
            Unmet::GateFailed {
                gate: "no_feature_drift".into(),
                details: Some("psi of amount 0.31 >= 0.1".into()),
            },
            Unmet::GateMissing { gate: "auc".into() },
        ]
    );
    assert_eq!(
        e.to_string(),
        "promotion of fraud version 2 to staging refused; unmet requirements: \
         approvals: 1 of 2 required; gate no_feature_drift: failed (psi of amount 0.31 >= 0.1); \
         gate auc: no report attached"
    );
    // a later passing report does not wash out the failure: a new request is needed
    p.approve(&req, &carol(), "ok").await.unwrap();
    p.attach_report(
        &req,
        GateReport::new("no_feature_drift", "mlops-monitor", true),
    )
    .await
    .unwrap();
    p.attach_report(&req, GateReport::new("auc", "mlops-monitor", true))
        .await
        .unwrap();
    let e = p.promote(&req, &alice()).await.unwrap_err();
    assert!(
        e.to_string().ends_with(
            "unmet requirements: gate no_feature_drift: failed (psi of amount 0.31 >= 0.1)"
        ),
        "{e}"
    );
    assert!(reg.get_version(&m, 2).await.unwrap().aliases.is_empty());
    assert!(p.deployed(&m, "staging").await.unwrap().is_none());
}

#[derive(Debug)]
struct MinAuc(f64);

#[async_trait]
impl Gate for MinAuc {
    fn name(&self) -> &str {
        "auc"
    }
    async fn check(&self, v: &ModelVersion) -> mlops_registry::Result<GateReport> {
        let auc = v.metrics.get("auc").copied().unwrap_or(f64::NAN);
        Ok(GateReport::evaluate(
            "auc",
            "test",
            auc,
            Comparison::Ge,
            self.0,
        ))
    }
}

#[tokio::test]
async fn promote_history_alias_and_rollback() {
    let (reg, p, m) = setup(strict()).await;
    let staging = "staging".parse().unwrap();
    for v in [1, 3] {
        let req = p
            .request(&m, v, "staging", &alice(), &format!("v{v}"))
            .await
            .unwrap();
        p.approve(&req, &bob(), "ok").await.unwrap();
        p.approve(&req, &carol(), "ok").await.unwrap();
        p.attach_report(
            &req,
            GateReport::new("no_feature_drift", "mlops-monitor", true),
        )
        .await
        .unwrap();
        let r = p.run_gate(&req, &MinAuc(0.8)).await.unwrap();
        assert!(r.passed);
        let d = p.promote(&req, &bob()).await.unwrap();
        assert_eq!(d.version, v);
        assert_eq!(reg.resolve_alias(&m, &staging).await.unwrap().version, v);
        let e = p.promote(&req, &bob()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert!(e.to_string().ends_with("is closed: promoted"), "{e}");
    }
    // rollback = promoting the previous version, recorded
    let d = p
        .rollback(&m, "staging", &carol(), "latency regression")
        .await
        .unwrap();
    assert_eq!((d.version, d.rollback_from), (1, Some(3)));
    assert_eq!(reg.resolve_alias(&m, &staging).await.unwrap().version, 1);
    assert_eq!(p.resolve(&m, "staging").await.unwrap().version, 1);
    let e = p.resolve(&m, "production").await.unwrap_err();
    assert_eq!(e.to_string(), "model fraud has no alias production");
    let hist: Vec<_> = p
        .deployment_history(&m, "staging")
        .await
        .unwrap()
        .iter()
        .map(|d| (d.version, d.by.clone()))
        .collect();
    assert_eq!(
        hist,
        vec![(1, "bob".into()), (3, "bob".into()), (1, "carol".into())]
    );
    // full history of version 1: who, when, why
    let h = p.history(&m, 1).await.unwrap();
    let kinds: Vec<&str> = h
        .iter()
        .map(|r| match &r.event {
            LedgerEvent::Requested { .. } => "requested",
            LedgerEvent::Approved { .. } => "approved",
            LedgerEvent::GateReported { .. } => "gate",
            LedgerEvent::Promoted { .. } => "promoted",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "requested",
            "approved",
            "approved",
            "gate",
            "gate",
            "promoted",
            "promoted"
        ]
    );
    let LedgerEvent::Promoted {
        by,
        reason,
        rollback_from,
        ..
    } = &h[6].event
    else {
        panic!()
    };
    assert_eq!(
        (by.id.as_str(), reason.as_str(), *rollback_from),
        ("carol", "latency regression", Some(3))
    );
    // production needs staging first, and release managers
    let req = p
        .request(&m, 2, "production", &alice(), "skip")
        .await
        .unwrap();
    let e = p.promote(&req, &alice()).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("approvals: 0 of 2 required; not yet deployed to staging"),
        "{e}"
    );
}

#[tokio::test]
async fn rejected_archived_and_unknown() {
    let (reg, p, m) = setup(Environments::default()).await;
    let req = p.request(&m, 1, "qa", &alice(), "x").await.unwrap();
    p.reject(&req, &bob(), "no tests").await.unwrap();
    let e = p.approve(&req, &carol(), "ok").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "promotion request 1 for model fraud version 1 is closed: rejected by bob"
    );
    let e = p.promote(&req, &alice()).await.unwrap_err();
    assert!(e.to_string().contains("rejected by bob: no tests"), "{e}");
    reg.archive_version(&m, 2).await.unwrap();
    let req = p
        .request(&m, 2, "development", &alice(), "x")
        .await
        .unwrap();
    let e = p.promote(&req, &alice()).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("unmet requirements: version status is archived"),
        "{e}"
    );
    let e = p.request(&m, 9, "qa", &alice(), "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.to_string(), "model fraud has no version 9");
    let e = p.request(&m, 1, "prod", &alice(), "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        e.to_string(),
        "unknown environment prod; configured: development, qa, staging, production"
    );
    let e = p.rollback(&m, "qa", &alice(), "x").await.unwrap_err();
    assert!(e.to_string().contains("nothing is deployed"), "{e}");
}

/// Roles come from a policy, not from the principal's own claim.
#[derive(Debug)]
struct PolicyRoles(BTreeMap<String, Vec<String>>);

#[async_trait]
impl Authorizer for PolicyRoles {
    async fn roles(&self, p: &Principal, _: &ResourceRef) -> mlops_registry::Result<Vec<String>> {
        Ok(self.0.get(&p.id).cloned().unwrap_or_default())
    }
    async fn authorize(
        &self,
        p: &Principal,
        a: Action,
        r: &ResourceRef,
    ) -> mlops_registry::Result<()> {
        if a == Action::Promote && p.id == "mallory" {
            return Err(mlops_core::Error::PermissionDenied {
                principal: p.id.clone(),
                action: a.to_string(),
                resource: r.to_string(),
                reason: Some("not in the deployers group".into()),
            }
            .into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn authorizer_overrides_claimed_roles() {
    let (_, p, m) = setup(strict()).await;
    let policy = PolicyRoles(BTreeMap::from([(
        "bob".to_string(),
        vec!["release-manager".to_string()],
    )]));
    let p = p.with_authorizer(Arc::new(policy));
    let req = p.request(&m, 1, "staging", &alice(), "x").await.unwrap();
    p.approve(&req, &bob(), "ok").await.unwrap();
    // carol claims release-manager, but the policy grants her nothing
    let e = p.approve(&req, &carol(), "ok").await.unwrap_err();
    assert!(e.to_string().ends_with("has []"), "{e}");
    let e = p
        .promote(&req, &Principal::user("mallory"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict); // blocked first: requirements are checked before the promoter
    let dev = p
        .request(&m, 1, "development", &alice(), "x")
        .await
        .unwrap();
    let e = p
        .promote(&dev, &Principal::user("mallory"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert!(e.to_string().contains("not in the deployers group"), "{e}");
}

#[tokio::test]
async fn cross_registry_copy_verifies_and_keeps_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let dev = EmbeddedRegistry::builder()
        .with_url(format!("file://{}/dev", dir.path().display()))
        .build()
        .unwrap();
    let prod = EmbeddedRegistry::builder()
        .with_url(format!("file://{}/prod", dir.path().display()))
        .build()
        .unwrap();
    let m: ModelName = "fraud".parse().unwrap();
    dev.create_model(&m).await.unwrap();
    let lineage = LineageRef::default().with_run(RunRef {
        tracking_uri: "file:///mlruns".into(),
        run_id: "r42".into(),
    });
    let src = dev
        .create_version(
            &m,
            NewModelVersion::new(&alice())
                .with_artifact(ArtifactPath::new("model.bin").unwrap(), vec![9u8; 10_000])
                .with_artifact(ArtifactPath::new("conf/params.json").unwrap(), "{}")
                .with_lineage(lineage),
        )
        .await
        .unwrap();
    let copied = copy_version(&dev, &prod, &m, 1, &bob()).await.unwrap();
    assert_eq!(copied.manifest_digest, src.manifest_digest);
    assert_eq!(copied.artifacts, src.artifacts);
    assert_eq!(copied.lineage.run.as_ref().unwrap().run_id, "r42");
    let parent = copied.lineage.parent.as_ref().unwrap();
    assert_eq!(parent.registry, dev.uri());
    assert_eq!((parent.model.as_str(), parent.version), ("fraud", 1));
    assert_eq!(copied.creator, "bob");
    // a corrupted source byte stops the copy with Integrity
    dev.create_version(
        &m,
        NewModelVersion::new(&alice())
            .with_artifact(ArtifactPath::new("model.bin").unwrap(), vec![1u8; 100]),
    )
    .await
    .unwrap();
    let v2 = dev.get_version(&m, 2).await.unwrap();
    let hex = v2.artifacts.get("model.bin").unwrap().digest.to_hex();
    let file = dir.path().join(format!("dev/blobs/{}/{hex}", &hex[..2]));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[50] ^= 0xff;
    std::fs::write(&file, bytes).unwrap();
    let e = copy_version(&dev, &prod, &m, 2, &bob()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    assert!(
        e.to_string()
            .starts_with("integrity check failed for artifact model.bin of model fraud"),
        "{e}"
    );
    assert_eq!(prod.latest_version(&m).await.unwrap(), Some(1));
}
