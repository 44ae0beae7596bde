//! Governance quickstart: the real layers under a policy file with two people
//! (alice the data scientist, bob the approver).
//!
//! 1. alice registers `fraud-detector` v1 through `Audit<Governed<EmbeddedRegistry>>`
//!    (allowed, audited);
//! 2. alice tries to point the `production` alias at it herself: refused by the
//!    policy (`PermissionDenied` naming principal, action and resource), audited as
//!    `denied`;
//! 3. alice requests a promotion; she claims the approver role, but the workflow
//!    takes roles from the policy ([`PolicyApprovals`]), so only bob can approve;
//!    bob approves and promotes through his own governed, audited registry;
//! 4. the audit trail on `file://{root}/governance/audit` is verified and printed.
//!
//! The policy is `examples/policy.toml`, compiled in so the demo runs from any
//! directory.

// An example prints what it does.
#![allow(clippy::print_stdout)]

use mlops_core::audit::{AuditLog, AuditQuery};
use mlops_core::policy::Policy;
use mlops_core::{Principal, Storage};
use mlops_registry::layers::{Audit, AuditLayer, GovernanceLayer, Governed, PolicyApprovals};
use mlops_registry::promotion::{Environment, EnvironmentPolicy, Environments, Promotions};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::sync::Arc;

/// The quickstart policy (`examples/policy.toml`).
pub const POLICY_TOML: &str = include_str!("../policy.toml");

type Stack = Audit<Governed<Arc<EmbeddedRegistry>>>;

/// `principal`'s view of the registry: audit over governance over the backend.
fn stack(
    backend: &Arc<EmbeddedRegistry>,
    policy: &Arc<Policy>,
    log: &AuditLog,
    p: &Principal,
) -> Stack {
    AuditLayer::new(log.clone(), p.clone())
        .layer(GovernanceLayer::new(policy.clone(), p.clone()).layer(backend.clone()))
}

/// Runs the scenario above under `root`, printing each step, the audit trail and
/// the verification result.
///
/// # Errors
/// A malformed policy, an unexpected refusal, storage failures, or an audit log
/// that does not verify.
pub async fn demo(root: &std::path::Path) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let policy = Arc::new(Policy::from_toml(POLICY_TOML)?);
    // alice claims the approver role; the policy is what counts.
    let alice = Principal::user("alice").with_roles(["ml-approver"]);
    let bob = Principal::user("bob");
    let storage = Storage::from_url(&format!("file://{}/governance/audit", root.display()))?;
    let log = AuditLog::open(&storage).await?;
    let backend = Arc::new(
        EmbeddedRegistry::builder()
            .with_url(format!("file://{}/governance/registry", root.display()))
            .build()?,
    );
    let as_alice = stack(&backend, &policy, &log, &alice);
    let as_bob = stack(&backend, &policy, &log, &bob);
    let model = "fraud-detector".parse()?;

    println!("== {policy}");
    as_alice.create_model(&model).await?;
    let v = as_alice
        .create_version(
            &model,
            NewModelVersion::new(&alice).with_metric("auc", 0.91),
        )
        .await?;
    println!("alice registered {model} v{}", v.version);

    match as_alice
        .set_alias(&model, &"production".parse()?, v.version)
        .await
    {
        Err(refused) => println!("alice sets the production alias herself: refused: {refused}"),
        Ok(()) => return Err("the policy should refuse alice promoting to production".into()),
    }

    let envs = Environments::new(vec![
        Environment::new("production")?.with_policy(
            EnvironmentPolicy::default()
                .with_approvals(1)
                .with_approver_roles(["ml-approver"]),
        ),
    ])?;
    let bobs_registry: Arc<dyn ModelRegistry> = Arc::new(as_bob);
    let promotions = Promotions::new(
        bobs_registry,
        Storage::from_url(&format!("file://{}/governance/ledger", root.display()))?,
    )
    .with_environments(envs)
    .with_authorizer(Arc::new(PolicyApprovals::new(policy.clone())))
    .with_audit(log.clone());
    let req = promotions
        .request(
            &model,
            v.version,
            "production",
            &alice,
            "auc 0.91 on holdout",
        )
        .await?;
    println!("alice requested promotion #{} to production", req.id);
    promotions
        .approve(&req, &bob, "reviewed the holdout report")
        .await?;
    println!(
        "bob approved with roles from the policy: {:?}",
        policy.roles_of(&bob)
    );
    let d = promotions.promote(&req, &bob).await?;
    println!("bob promoted {model} v{} to {}", d.version, d.environment);

    log.close().await?;
    let report = log.verify().await?.into_result()?;
    println!(
        "== audit log {} verified: {} records in {} segment(s), {} checkpoint(s), clean: {}",
        storage.url(),
        report.records,
        report.segments,
        report.checkpoints,
        report.is_clean(),
    );
    for e in log.query(&AuditQuery::new()).await? {
        println!(
            "#{} {} {:<6} {:<8} {:<36} {:<8} {}",
            e.seq,
            e.at.format("%H:%M:%S%.3f"),
            e.principal,
            e.action.to_string(),
            e.resource.to_string(),
            e.outcome.to_string(),
            e.details.get("method").map(String::as_str).unwrap_or(""),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlops_core::Action;
    use mlops_core::audit::Outcome;

    #[tokio::test]
    async fn demo_refuses_alice_and_leaves_a_verified_trail() {
        let root = tempfile::tempdir().unwrap();
        demo(root.path()).await.unwrap();
        let storage = Storage::from_url(&format!(
            "file://{}/governance/audit",
            root.path().display()
        ))
        .unwrap();
        let log = AuditLog::open(&storage).await.unwrap();
        let report = log.verify().await.unwrap();
        assert!(report.is_clean());
        let all = log.query(&AuditQuery::new()).await.unwrap();
        let got: Vec<String> = all
            .iter()
            .map(|e| format!("{} {} {} {}", e.principal, e.action, e.resource, e.outcome))
            .collect();
        assert_eq!(
            got,
            [
                "alice write model:fraud-detector allowed",
                "alice write model:fraud-detector allowed",
                "alice promote model:fraud-detector@production denied",
                // the workflow's own events (Promotions::with_audit) beside the layer's
                "alice write model:fraud-detector@production allowed",
                "bob approve model:fraud-detector@production allowed",
                "bob promote model:fraud-detector@production allowed",
                "bob promote model:fraud-detector@production allowed",
            ]
        );
        let denied = log
            .query(&AuditQuery::new().with_outcome(Outcome::Denied))
            .await
            .unwrap();
        assert_eq!(
            (denied[0].principal.as_str(), denied[0].action),
            ("alice", Action::Promote)
        );
        let methods: Vec<&str> = all[3..]
            .iter()
            .map(|e| e.details.get("method").map(String::as_str).unwrap_or(""))
            .collect();
        assert_eq!(
            methods,
            [
                "Promotions::request",
                "Promotions::approve",
                "ModelRegistry::set_alias",
                "Promotions::promote"
            ]
        );
    }
}
