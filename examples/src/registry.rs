//! Quickstart for the registry: register the run's model, pass gates, get two
//! approvals, promote to staging, export the GitOps manifest.
#![allow(clippy::print_stdout)] // an example narrates what it does

use mlops_core::path::ArtifactPath;
use mlops_core::{GateReport, LineageRef, Principal, RunRef, Storage};
use mlops_registry::promotion::{EnvironmentPolicy, Environments, Promotions};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::sync::Arc;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Registers a version of `fraud-detector` in `file://{root}/registry` (lineage
/// from `run`), attaches `gates` to a promotion request for staging (each one
/// becomes a required gate), gets approvals from two principals, promotes, prints
/// each step and returns the `ModelDeployments` YAML of staging (also printed).
///
/// # Errors
/// A failing gate report or any registry error (e.g. `PromotionBlocked`).
pub async fn demo(
    root: &std::path::Path,
    run: Option<RunRef>,
    gates: Vec<GateReport>,
) -> Result<String, BoxError> {
    let registry: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url(format!("file://{}/registry", root.display()))
            .build()?,
    );
    let ledger = Storage::from_url(&format!("file://{}/ledger", root.display()))?;
    let required: Vec<String> = gates.iter().map(|g| g.check.clone()).collect();
    let envs = Environments::default().with_policy(
        "staging",
        EnvironmentPolicy::default()
            .with_approvals(2)
            .with_approver_roles(["reviewer"])
            .with_required_gates(required.clone()),
    )?;
    let promotions = Promotions::new(registry.clone(), ledger).with_environments(envs);

    let alice = Principal::user("alice").with_roles(["ml-engineer"]);
    let bob = Principal::user("bob").with_roles(["reviewer"]);
    let carol = Principal::user("carol").with_roles(["reviewer"]);

    let model = "fraud-detector".parse()?;
    registry.ensure_model(&model).await?;
    let mut lineage = LineageRef::default();
    if let Some(run) = run {
        lineage = lineage.with_run(run);
    }
    let version = registry
        .create_version(
            &model,
            NewModelVersion::new(&alice)
                .with_artifact(ArtifactPath::new("model.bin")?, b"model weights".to_vec())
                .with_lineage(lineage)
                .with_tag("model_format", "sklearn")
                .with_description("quickstart model"),
        )
        .await?;
    println!(
        "registered {model} version {} ({}) in {registry}",
        version.version, version.manifest_digest
    );

    let request = promotions
        .request(&model, version.version, "staging", &alice, "quickstart")
        .await?;
    println!(
        "alice requested promotion of version {} to staging",
        version.version
    );
    for report in gates {
        println!(
            "attached gate report {} ({})",
            report.check,
            if report.passed { "passed" } else { "failed" }
        );
        promotions.attach_report(&request, report).await?;
    }
    promotions
        .approve(&request, &bob, "metrics look good")
        .await?;
    println!("bob approved");
    promotions
        .approve(&request, &carol, "lineage checked")
        .await?;
    println!("carol approved");
    let deployed = promotions.promote(&request, &alice).await?;
    println!(
        "promoted {model} version {} to staging (ledger record {})",
        deployed.version, deployed.seq
    );

    let yaml = promotions.export_deployments("staging").await?;
    println!("{yaml}");
    Ok(yaml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlops_core::Comparison;

    #[tokio::test]
    async fn demo_promotes_to_staging_and_exports() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunRef {
            tracking_uri: "file:///tmp/mlruns".into(),
            run_id: "run-1".into(),
        };
        let gates = vec![GateReport::evaluate(
            "auc",
            "mlops-monitor",
            0.93,
            Comparison::Ge,
            0.8,
        )];
        let yaml = demo(dir.path(), Some(run), gates).await.unwrap();
        assert!(yaml.contains("kind: ModelDeployments"));
        assert!(yaml.contains("name: fraud-detector"));
        assert!(yaml.contains("version: 1"));
        let reg = EmbeddedRegistry::builder()
            .with_url(format!("file://{}/registry", dir.path().display()))
            .build()
            .unwrap();
        let v = reg
            .resolve_alias(
                &"fraud-detector".parse().unwrap(),
                &"staging".parse().unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(v.lineage.run.unwrap().run_id, "run-1");
        // a failing gate blocks the next run's promotion
        let bad = vec![GateReport::new("auc", "mlops-monitor", false)];
        let e = demo(dir.path(), None, bad).await.unwrap_err();
        assert!(e.to_string().contains("gate auc: failed"), "{e}");
    }
}
