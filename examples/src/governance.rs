//! Governance quickstart: a policy with two people (alice the data scientist, bob
//! the approver), one allowed and one refused action with the rule that decided,
//! and a verified, tamper-evident audit trail on `file://`.
//!
//! The policy is `examples/policy.toml`, compiled in so the demo runs from any
//! directory.

// An example prints what it does.
#![allow(clippy::print_stdout)]

use mlops_core::audit::{AuditEvent, AuditLog, AuditQuery, Outcome};
use mlops_core::policy::Policy;
use mlops_core::{Action, Principal, ResourceRef, Storage};

/// The quickstart policy (`examples/policy.toml`).
pub const POLICY_TOML: &str = include_str!("../policy.toml");

/// Loads the policy, decides four requests (printing each decision), records them
/// in the audit log at `file://{root}/audit`, verifies the log and prints the trail.
///
/// # Errors
/// A malformed policy, storage failures, or an audit log that does not verify.
pub async fn demo(root: &std::path::Path) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let policy = Policy::from_toml(POLICY_TOML)?;
    let alice = Principal::user("alice");
    let bob = Principal::user("bob");
    let candidate: ResourceRef = "model:fraud-detector".parse()?;
    let production: ResourceRef = "model:fraud-detector@production".parse()?;

    let storage = Storage::from_url(&format!("file://{}/audit", root.display()))?;
    let log = AuditLog::open(&storage).await?;

    println!("== decisions under {policy}");
    let requests = [
        (&alice, Action::Write, &candidate),
        (&alice, Action::Promote, &production),
        (&bob, Action::Approve, &production),
        (&bob, Action::Promote, &production),
    ];
    for (who, action, resource) in requests {
        let decision = policy.explain(who, action, resource);
        println!("{who} {action} {resource}: {decision}");
        let outcome = if decision.allowed {
            Outcome::Allowed
        } else {
            Outcome::Denied
        };
        log.record(
            AuditEvent::new(who, action, resource.clone(), outcome)
                .with_request(format!("{action} {resource}").as_bytes())
                .with_detail("rule", decision.to_string()),
        );
        if let Err(refused) = decision.into_result() {
            println!("  -> refused: {refused}");
        }
    }
    println!(
        "roles of alice from the policy: {:?}",
        policy.roles_of(&alice)
    );

    log.close().await?;
    let report = log.verify().await?.into_result()?;
    println!(
        "== audit log {} verified: {} records in {} segment(s), {} checkpoint(s), head {}",
        storage.url(),
        report.records,
        report.segments,
        report.checkpoints,
        report.head.map(|(_, h)| h.to_string()).unwrap_or_default(),
    );
    for e in log.query(&AuditQuery::new()).await? {
        println!(
            "#{} {} {} {} {} {}",
            e.seq,
            e.at.format("%H:%M:%S%.3f"),
            e.principal,
            e.action,
            e.resource,
            e.outcome
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn demo_refuses_alice_and_leaves_a_verified_trail() {
        let root = std::env::temp_dir().join(format!(
            "mlops-governance-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        demo(&root).await.unwrap();
        let storage = Storage::from_url(&format!("file://{}/audit", root.display())).unwrap();
        let log = AuditLog::open(&storage).await.unwrap();
        let report = log.verify().await.unwrap();
        assert!(report.is_clean());
        assert_eq!(report.records, 4);
        let denied = log
            .query(&AuditQuery::new().with_outcome(Outcome::Denied))
            .await
            .unwrap();
        assert_eq!(denied.len(), 1);
        assert_eq!(denied[0].principal, "alice");
        assert_eq!(denied[0].action, Action::Promote);
        assert!(denied[0].details["rule"].contains("deny model:* promote @production"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
