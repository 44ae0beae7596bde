#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::layers::PolicyApprovals;
use crate::types::NewModelVersion;
use crate::{EmbeddedRegistry, RegistryExt};
use mlops_core::audit::{AuditEvent, AuditLog, AuditQuery};
use mlops_core::policy::Policy;
use mlops_core::{ErrorKind, Storage};

const POLICY: &str = r#"
[[roles]]
name = "ml-engineer"
allow = [{ actions = ["write"], resources = ["model:*"] }]
[[roles]]
name = "release-manager"
allow = [{ actions = ["approve", "promote"], resources = ["model:*"] }]
[[bindings]]
role = "ml-engineer"
principals = ["alice"]
[[bindings]]
role = "release-manager"
principals = ["bob"]
"#;

/// The source of `impl Promotions` (split over the module and its audit part).
fn promotions_source() -> String {
    [include_str!("mod.rs"), include_str!("audit.rs")].concat()
}

/// `Promotions`' public methods that are not workflow actions: construction and
/// accessors.
const NOT_WORKFLOW: &[&str] = &[
    "new",
    "with_mirror",
    "with_environments",
    "with_authorizer",
    "with_audit",
    "environments",
    "registry",
    "ledger",
    "audit_log",
];

fn workflow_methods(src: &str) -> Vec<String> {
    mlops_core::policy::declared_methods(src, "impl Promotions")
        .unwrap()
        .into_iter()
        .filter(|m| !NOT_WORKFLOW.contains(&m.as_str()))
        .collect()
}

fn check(src: &str) -> mlops_core::Result<()> {
    let methods = workflow_methods(src);
    let names: Vec<&str> = methods.iter().map(String::as_str).collect();
    PROMOTION_METHODS.check_complete(&names)
}

#[test]
fn table_covers_every_public_method() {
    let src = promotions_source();
    check(&src).unwrap();
    let all = mlops_core::policy::declared_methods(&src, "impl Promotions").unwrap();
    for m in NOT_WORKFLOW {
        assert!(all.iter().any(|d| d == m), "{m} is no longer a method");
    }
    // a public method added without a rule fails
    let more = src.replacen(
        "impl Promotions {",
        "impl Promotions {\n    pub async fn withdraw(&self) -> Result<()> { Ok(()) }",
        1,
    );
    let e = check(&more).unwrap_err();
    assert!(
        e.to_string().contains("methods without a rule: withdraw"),
        "{e}"
    );
}

#[derive(Debug)]
struct Auc;

#[async_trait::async_trait]
impl Gate for Auc {
    fn name(&self) -> &str {
        "auc"
    }
    async fn check(&self, _: &ModelVersion) -> Result<GateReport> {
        Ok(GateReport::new("auc", "auc-gate", true))
    }
}

fn line(e: &AuditEvent) -> String {
    let d = |k: &str| e.details.get(k).cloned().unwrap_or_default();
    format!(
        "{} {} {} {} {} v{} r{}",
        d("method").trim_start_matches("Promotions::"),
        e.principal,
        e.action,
        e.resource,
        e.outcome,
        d("version"),
        d("request"),
    )
}

#[tokio::test]
async fn every_workflow_action_is_audited_allowed_and_refused() {
    let reg: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let m: ModelName = "fraud".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    for _ in 0..2 {
        reg.create_version(&m, NewModelVersion::new(&Principal::user("alice")))
            .await
            .unwrap();
    }
    let envs = Environments::default()
        .with_policy(
            "production",
            EnvironmentPolicy::default()
                .with_approvals(1)
                .with_approver_roles(["release-manager"])
                .with_required_gates(["auc"]),
        )
        .unwrap();
    let log = AuditLog::open(&Storage::memory()).await.unwrap();
    let policy = Arc::new(Policy::from_toml(POLICY).unwrap());
    let p = Promotions::new(reg.clone(), Storage::memory())
        .with_environments(envs)
        .with_authorizer(Arc::new(PolicyApprovals::new(policy)))
        .with_audit(log.clone());
    assert!(p.audit_log().is_some());
    let (alice, bob, mallory) = (
        Principal::user("alice"),
        Principal::user("bob"),
        Principal::user("mallory").with_roles(["release-manager"]), // claimed, not granted
    );
    let denied = |r: Result<()>| assert_eq!(r.unwrap_err().kind(), ErrorKind::PermissionDenied);
    let prod = "production";

    // request: refused, allowed
    let e = p.request(&m, 1, prod, &mallory, "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let r1 = p.request(&m, 1, prod, &alice, "ship").await.unwrap();
    // approve: self-approval and no permission refused; promote blocked; then allowed
    denied(p.approve(&r1, &alice, "lgtm").await);
    denied(p.approve(&r1, &mallory, "lgtm").await);
    let blocked = p.promote(&r1, &bob).await.unwrap_err();
    assert_eq!(blocked.kind(), ErrorKind::Conflict);
    p.approve(&r1, &bob, "ok").await.unwrap();
    p.run_gate(&r1, &Auc).await.unwrap();
    let e = p.promote(&r1, &mallory).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(p.promote(&r1, &bob).await.unwrap().version, 1);
    // a report on a closed request fails
    let late = p
        .attach_report(&r1, GateReport::new("auc", "monitor", true))
        .await;
    assert_eq!(late.unwrap_err().kind(), ErrorKind::Conflict);
    // reject: refused, allowed; promoting a rejected request is refused
    let r2 = p.request(&m, 2, prod, &alice, "v2").await.unwrap();
    denied(p.reject(&r2, &mallory, "no").await);
    p.reject(&r2, &bob, "not yet").await.unwrap();
    assert_eq!(
        p.promote(&r2, &bob).await.unwrap_err().kind(),
        ErrorKind::Conflict
    );
    // v2 deployed, then rolled back: refused, allowed, failed
    let r3 = p.request(&m, 2, prod, &alice, "v2 again").await.unwrap();
    p.approve(&r3, &bob, "ok").await.unwrap();
    p.attach_report(&r3, GateReport::new("auc", "monitor", true))
        .await
        .unwrap();
    p.promote(&r3, &bob).await.unwrap();
    let e = p.rollback(&m, prod, &mallory, "oops").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    let back = p.rollback(&m, prod, &bob, "regression").await.unwrap();
    assert_eq!((back.version, back.rollback_from), (1, Some(2)));
    let none = p.rollback(&m, "staging", &bob, "x").await.unwrap_err();
    assert_eq!(none.kind(), ErrorKind::Conflict);
    p.sync_alias(&m, prod).await.unwrap();
    // reads are not audited
    p.status(&r3).await.unwrap();
    p.history(&m, 1).await.unwrap();

    log.flush().await.unwrap();
    let ev = log.query(&AuditQuery::new()).await.unwrap();
    let got: Vec<String> = ev.iter().map(line).collect();
    let at = "model:fraud@production";
    let want = [
        format!("request mallory write {at} denied v1 r"),
        format!("request alice write {at} allowed v1 r{}", r1.id),
        format!("approve alice approve {at} denied v1 r{}", r1.id),
        format!("approve mallory approve {at} denied v1 r{}", r1.id),
        format!("promote bob promote {at} failed:conflict v1 r{}", r1.id),
        format!("approve bob approve {at} allowed v1 r{}", r1.id),
        format!("run_gate auc write {at} allowed v1 r{}", r1.id),
        format!("promote mallory promote {at} denied v1 r{}", r1.id),
        format!("promote bob promote {at} allowed v1 r{}", r1.id),
        format!(
            "attach_report monitor write {at} failed:conflict v1 r{}",
            r1.id
        ),
        format!("request alice write {at} allowed v2 r{}", r2.id),
        format!("reject mallory approve {at} denied v2 r{}", r2.id),
        format!("reject bob approve {at} allowed v2 r{}", r2.id),
        format!("promote bob promote {at} failed:conflict v2 r{}", r2.id),
        format!("request alice write {at} allowed v2 r{}", r3.id),
        format!("approve bob approve {at} allowed v2 r{}", r3.id),
        format!("attach_report monitor write {at} allowed v2 r{}", r3.id),
        format!("promote bob promote {at} allowed v2 r{}", r3.id),
        format!("rollback mallory promote {at} denied v r"),
        format!("rollback bob promote {at} allowed v1 r"),
        "rollback bob promote model:fraud@staging failed:conflict v r".to_string(),
        format!("sync_alias promotions promote {at} allowed v r"),
    ];
    assert_eq!(got, want);

    // the blocked promotion says why; the refusal names the rule's subject
    let refused = &ev[4].details["refused"];
    assert!(
        refused.starts_with("unmet requirements: approvals: 0 of 1 required")
            && refused.contains("gate auc: no report attached"),
        "{refused}"
    );
    assert!(ev[13].details["refused"].contains("rejected by bob"));
    assert!(ev[3].details["error"].contains("mallory may not approve model:fraud@production"));
    assert!(ev[2].details["error"].contains("self-approval"));
    assert_eq!(ev[19].details["rollback_from"], "2");
    assert_eq!(ev[6].details["gate"], "auc");
    // every action carries its environment and the digest of its request; the same
    // request by two principals digests alike
    assert!(ev.iter().all(|e| e.details.contains_key("environment")));
    assert_eq!(ev[2].request_digest, ev[3].request_digest);
    assert_ne!(ev[0].request_digest, ev[1].request_digest);
    // every mutating method of the table was audited, and the log verifies
    for rule in PROMOTION_METHODS.mutating() {
        let want = format!("Promotions::{}", rule.method);
        let mine: Vec<&AuditEvent> = ev.iter().filter(|e| e.details["method"] == want).collect();
        assert!(!mine.is_empty(), "{} never audited", rule.method);
        assert!(mine.iter().all(|e| e.action == rule.action), "{want}");
    }
    let report = log.verify().await.unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.records, want.len() as u64);
}

#[tokio::test]
async fn without_an_audit_log_nothing_is_recorded() {
    let reg: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://")
            .build()
            .unwrap(),
    );
    let m: ModelName = "m".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    reg.create_version(&m, NewModelVersion::new(&Principal::user("a")))
        .await
        .unwrap();
    let p = Promotions::new(reg, Storage::memory());
    assert!(p.audit_log().is_none());
    let r = p
        .request(&m, 1, "development", &Principal::user("a"), "r")
        .await
        .unwrap();
    assert_eq!(
        p.promote(&r, &Principal::user("a")).await.unwrap().version,
        1
    );
}
