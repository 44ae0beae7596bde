#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::registry::{ModelRegistry, RegistryExt};
use crate::types::{ModelUpdate, NewModelVersion, VersionUpdate};
use crate::{CreateModelOptions, EmbeddedRegistry, Error};
use mlops_core::audit::{AuditLog, AuditQuery, Outcome};
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::policy::{AllowAll, Policy};
use mlops_core::{ErrorKind, Principal, Storage};
use std::sync::Arc;

/// The source that declares [`ModelRegistry`]: the table is checked against the
/// trait as written, so a trait method added without a rule in [`REGISTRY_METHODS`]
/// fails `table_is_complete` (and the impls carry `#[deny(clippy::missing_trait_methods)]`,
/// so they cannot lag behind the trait either).
const TRAIT_SOURCE: &str = include_str!("../registry.rs");
const TRAIT: &str = "trait ModelRegistry";

/// Local metadata: listed as reads, never checked or audited.
const LOCAL: &[&str] = &["capabilities", "uri"];

const POLICY: &str = r#"
[[roles]]
name = "owner"
allow = [{ actions = ["admin"], resources = ["model:*"] }]
[[bindings]]
role = "owner"
principals = ["bob"]
"#;

#[test]
fn table_is_complete() {
    REGISTRY_METHODS
        .check_declared(TRAIT_SOURCE, TRAIT)
        .unwrap();
    let methods = mlops_core::policy::declared_methods(TRAIT_SOURCE, TRAIT).unwrap();
    assert_eq!(methods.len(), REGISTRY_METHODS.rules.len());
    // the real trait with one more method: the check fails, naming it
    let open = TRAIT_SOURCE.find("pub trait ModelRegistry").unwrap();
    let open = open + TRAIT_SOURCE[open..].find('{').unwrap() + 1;
    let more = format!(
        "{}\n    async fn rename_model(&self, from: &ModelName) -> Result<()>;{}",
        &TRAIT_SOURCE[..open],
        &TRAIT_SOURCE[open..]
    );
    let e = REGISTRY_METHODS.check_declared(&more, TRAIT).unwrap_err();
    assert!(
        e.to_string()
            .contains("methods without a rule: rename_model"),
        "{e}"
    );
}

fn name(m: &str) -> ModelName {
    format!("m-{}", m.replace('_', "-")).parse().unwrap()
}

/// Seeds the state `method` needs on model `name(method)`: a model, version 1
/// with an artifact and alias `staging`, and (for deletes) version 2.
async fn seed(b: &dyn ModelRegistry, method: &str) {
    if method == "create_model_opts" {
        return;
    }
    let n = name(method);
    b.create_model(&n).await.unwrap();
    let nv = NewModelVersion::new(&Principal::user("seed"))
        .with_artifact("model.bin".parse::<ArtifactPath>().unwrap(), b"w".to_vec());
    b.create_version(&n, nv.clone()).await.unwrap();
    b.create_version(&n, nv).await.unwrap();
    b.set_alias(&n, &"staging".parse().unwrap(), 1)
        .await
        .unwrap();
}

/// The call of `method` (table-driven: every mutating method has an arm).
async fn call(r: &dyn ModelRegistry, method: &str) -> crate::Result<()> {
    let n = name(method);
    let staging: Alias = "staging".parse().unwrap();
    match method {
        "create_model_opts" => r
            .create_model_opts(&n, CreateModelOptions::default())
            .await
            .map(drop),
        "update_model" => r
            .update_model(&n, ModelUpdate::default().description("d"))
            .await
            .map(drop),
        "delete_model" => r.delete_model(&n).await,
        "create_version" => r
            .create_version(&n, NewModelVersion::new(&Principal::user("x")))
            .await
            .map(drop),
        "update_version" => r
            .update_version(&n, 1, VersionUpdate::default().description("d"))
            .await
            .map(drop),
        "delete_version" => r.delete_version(&n, 2).await,
        "set_alias" => r.set_alias(&n, &"production".parse().unwrap(), 1).await,
        "delete_alias" => r.delete_alias(&n, &staging).await,
        other => panic!("no call for mutating method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_mutating_method_refused_allowed_and_audited() {
    let backend = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy: Arc<Policy> = Arc::new(Policy::from_toml(POLICY).unwrap());
    let stack = |who: &str| {
        let p = Principal::user(who);
        AuditLayer::new(log.clone(), p.clone())
            .layer(GovernanceLayer::new(policy.clone(), p).layer(backend.clone()))
    };
    let (alice, bob) = (stack("alice"), stack("bob"));
    let mut n = 0;
    for rule in REGISTRY_METHODS.mutating() {
        let m = rule.method;
        seed(&*backend, m).await;
        let err = call(&alice, m).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{m}: {err}");
        let s = err.to_string();
        assert!(
            s.contains("alice") && s.contains(rule.action.as_str()),
            "{m}: {s}"
        );
        assert!(s.contains(&format!("model:{}", name(m))), "{m}: {s}");
        assert!(matches!(
            err,
            Error::Core(mlops_core::Error::PermissionDenied { .. })
        ));
        call(&bob, m).await.unwrap_or_else(|e| panic!("{m}: {e}"));
        n += 1;
        log.flush().await.unwrap();
        let ev = log
            .query(&AuditQuery::new().with_action(rule.action))
            .await
            .unwrap();
        let mine: Vec<_> = ev
            .iter()
            .filter(|e| {
                e.details.get("method").map(String::as_str) == Some(&format!("ModelRegistry::{m}"))
            })
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
        assert_eq!(
            mine[0].request_digest, mine[1].request_digest,
            "{m}: same request"
        );
    }
    assert_eq!(n, 8);
    // the promote was scoped to the alias
    let promo = log
        .query(&AuditQuery::new().with_action(mlops_core::Action::Promote))
        .await
        .unwrap();
    assert_eq!(
        promo[0].resource.to_string(),
        "model:m-set-alias@production"
    );
    let report = log.verify().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.records, 16);
}

const VIEWER: &str = r#"
[[roles]]
name = "viewer"
allow = [{ actions = ["read"], resources = ["model:*"] }]
[[bindings]]
role = "viewer"
principals = ["alice"]
"#;

/// The call of read `method` on `n` (table-driven: every checked read has an arm).
async fn read_call(r: &dyn ModelRegistry, method: &str, n: &ModelName) -> crate::Result<()> {
    match method {
        "get_model" => r.get_model(n).await.map(drop),
        "search_models" => r.search_models(&Default::default()).await.map(drop),
        "get_version" => r.get_version(n, 1).await.map(drop),
        "search_versions" => r.search_versions(n, &Default::default()).await.map(drop),
        "resolve_alias" => r
            .resolve_alias(n, &"staging".parse().unwrap())
            .await
            .map(drop),
        "get_artifact" => r
            .get_artifact(n, 1, &"model.bin".parse().unwrap())
            .await
            .map(drop),
        other => panic!("no call for read method {other}: add an arm"),
    }
}

#[tokio::test]
async fn every_read_refused_without_read_and_audited_when_configured() {
    let backend = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    seed(&*backend, "reads").await;
    let n = name("reads");
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let quiet_log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy: Arc<Policy> = Arc::new(Policy::from_toml(VIEWER).unwrap());
    let stack = |who: &str, log: &AuditLog, reads: bool| {
        let p = Principal::user(who);
        AuditLayer::new(log.clone(), p.clone())
            .with_audit_reads(reads)
            .layer(GovernanceLayer::new(policy.clone(), p).layer(backend.clone()))
    };
    let (alice, carol) = (stack("alice", &log, true), stack("carol", &log, true));
    let quiet = stack("alice", &quiet_log, false);
    let mut n_reads = 0;
    for rule in REGISTRY_METHODS
        .rules
        .iter()
        .filter(|r| !r.mutating && !LOCAL.contains(&r.method))
    {
        let m = rule.method;
        assert_eq!(rule.action, mlops_core::Action::Read, "{m}");
        let e = read_call(&carol, m, &n).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{m}: {e}");
        assert!(
            e.to_string().contains("carol may not read model:"),
            "{m}: {e}"
        );
        read_call(&alice, m, &n)
            .await
            .unwrap_or_else(|e| panic!("{m}: {e}"));
        read_call(&quiet, m, &n).await.unwrap();
        log.flush().await.unwrap();
        let want = format!("ModelRegistry::{m}");
        let ev = log.query(&AuditQuery::new()).await.unwrap();
        let mine: Vec<String> = ev
            .iter()
            .filter(|e| e.details.get("method") == Some(&want))
            .map(|e| format!("{} {} {}", e.principal, e.action, e.outcome))
            .collect();
        assert_eq!(mine, ["carol read denied", "alice read allowed"], "{m}");
        n_reads += 1;
    }
    assert_eq!(n_reads, 6);
    // a read through a layer without read auditing leaves no event
    quiet_log.flush().await.unwrap();
    assert!(
        quiet_log
            .query(&AuditQuery::new())
            .await
            .unwrap()
            .is_empty()
    );
    // local metadata is never checked: carol may ask for it
    assert_eq!(carol.uri(), backend.uri());
    let r = log.verify().await.unwrap();
    assert!(r.is_clean(), "{r:?}");
    assert_eq!(r.records, 12);
}

#[tokio::test]
async fn failures_are_audited_with_their_kind_and_reads_only_when_asked() {
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let p = Principal::user("u");
    let reg = AuditLayer::new(log.clone(), p.clone()).layer(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let n: ModelName = "nope".parse().unwrap();
    assert!(reg.delete_model(&n).await.is_err());
    assert!(reg.get_model(&n).await.is_err());
    let reads = AuditLayer::new(log.clone(), p)
        .with_audit_reads(true)
        .layer(reg);
    assert!(reads.get_model(&n).await.is_err());
    log.flush().await.unwrap();
    let ev = log.query(&AuditQuery::new()).await.unwrap();
    let out: Vec<String> = ev
        .iter()
        .map(|e| format!("{} {}", e.action, e.outcome))
        .collect();
    assert_eq!(out, ["delete failed:not_found", "read failed:not_found"]);
}

#[tokio::test]
async fn layers_pass_conformance() {
    let p = Principal::user("ci");
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let backend = EmbeddedRegistry::builder()
        .with_url("memory://")
        .build()
        .unwrap();
    let reg = AuditLayer::new(log.clone(), p.clone())
        .with_audit_reads(true)
        .layer(GovernanceLayer::new(Arc::new(AllowAll), p).layer(backend));
    let ran = crate::conformance::run_all(&reg).await.unwrap();
    assert!(ran >= 10);
    log.flush().await.unwrap();
    let report = log.verify().await.unwrap();
    assert!(report.is_clean() && report.records > 20, "{report:?}");
}

#[tokio::test]
async fn promotion_roles_come_from_the_policy() {
    use crate::promotion::Authorizer as _;
    let hook = PolicyApprovals::new(Arc::new(Policy::from_toml(POLICY).unwrap()));
    let r: mlops_core::ResourceRef = "model:fraud@production".parse().unwrap();
    let liar = Principal::user("alice").with_roles(["owner"]);
    assert!(hook.roles(&liar, &r).await.unwrap().is_empty());
    assert_eq!(
        hook.roles(&Principal::user("bob"), &r).await.unwrap(),
        ["owner"]
    );
    let e = hook
        .authorize(&liar, mlops_core::Action::Approve, &r)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    hook.authorize(&Principal::user("bob"), mlops_core::Action::Approve, &r)
        .await
        .unwrap();
}

const WRITER: &str = r#"
[[roles]]
name = "writer"
allow = [{ actions = ["write"], resources = ["model:*"] }]
[[bindings]]
role = "writer"
principals = ["alice"]
"#;

#[tokio::test]
async fn compliance_reports_gate_promotion() {
    use crate::promotion::{Environment, EnvironmentPolicy, Environments, Promotions};
    use mlops_core::compliance::{ComplianceContext, Preset};
    let backend: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let m: ModelName = "fraud".parse().unwrap();
    backend.create_model(&m).await.unwrap();
    backend
        .create_version(&m, NewModelVersion::new(&Principal::user("alice")))
        .await
        .unwrap();
    let envs = Environments::new(vec![
        Environment::new("production").unwrap().with_policy(
            EnvironmentPolicy::default()
                .with_approvals(1)
                .with_required_gates(["iso27001.four_eyes", "iso27001.lineage"]),
        ),
    ])
    .unwrap();
    let p = Promotions::new(backend, Storage::memory())
        .with_environments(envs)
        .with_authorizer(Arc::new(PolicyApprovals::new(Arc::new(
            Policy::from_toml(&format!("{POLICY}{WRITER}")).unwrap(),
        ))));
    let alice = Principal::user("alice");
    let req = p.request(&m, 1, "production", &alice, "r").await.unwrap();
    p.approve(&req, &Principal::user("bob"), "ok")
        .await
        .unwrap();
    let reports = attach_compliance(
        &p,
        &req,
        &[Preset::Iso27001],
        ComplianceContext::new("", Default::default()),
    )
    .await
    .unwrap();
    let got: Vec<(&str, bool)> = reports
        .iter()
        .map(|r| (r.check.as_str(), r.passed))
        .collect();
    assert_eq!(
        got,
        [
            ("iso27001.four_eyes", false),
            ("iso27001.audit", false),
            ("iso27001.lineage", false)
        ]
    );
    let st = p.status(&req).await.unwrap();
    assert_eq!(st.reports.len(), 3);
    assert_eq!(st.approvals[0].1, ["owner"], "roles from the policy");
    let e = p.promote(&req, &Principal::user("bob")).await.unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains("iso27001.four_eyes") && s.contains("iso27001.lineage"),
        "{s}"
    );
}

#[tokio::test]
async fn the_workflow_audit_log_serves_the_iso27001_audit_control() {
    use crate::promotion::Promotions;
    use mlops_core::compliance::{ComplianceContext, Preset};
    let backend: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let m: ModelName = "fraud".parse().unwrap();
    backend.create_model(&m).await.unwrap();
    backend
        .create_version(&m, NewModelVersion::new(&Principal::user("alice")))
        .await
        .unwrap();
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let p = Promotions::new(backend, Storage::memory()).with_audit(log.clone());
    let req = p
        .request(&m, 1, "staging", &Principal::user("alice"), "r")
        .await
        .unwrap();
    let reports = attach_compliance(
        &p,
        &req,
        &[Preset::Iso27001],
        ComplianceContext::new("", Default::default()),
    )
    .await
    .unwrap();
    let audit = reports
        .iter()
        .find(|r| r.check == "iso27001.audit")
        .unwrap();
    assert!(audit.passed, "{audit:?}");
    assert!(
        audit.details.as_deref().unwrap().contains("verified clean"),
        "{audit:?}"
    );
    // attaching the reports was itself audited
    log.flush().await.unwrap();
    let attached = log
        .query(&AuditQuery::new().with_action(mlops_core::Action::Write))
        .await
        .unwrap()
        .iter()
        .filter(|e| e.details["method"] == "Promotions::attach_report")
        .count();
    assert_eq!(attached, 3);
}

#[test]
fn public_types_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Governed<EmbeddedRegistry>>();
    assert_send_sync::<Audit<EmbeddedRegistry>>();
    assert_send_sync::<GovernanceLayer>();
    assert_send_sync::<AuditLayer>();
    assert_send_sync::<PolicyApprovals>();
}
