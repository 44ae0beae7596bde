//! GitOps export: golden files, byte-identical for the same state.
//! Regenerate with `MLOPS_UPDATE_GOLDEN=1 cargo test -p mlops-registry --test manifest`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns panic on failure by design

use mlops_core::path::ArtifactPath;
use mlops_core::{GateReport, Principal, Storage};
use mlops_registry::manifest::{KServeOptions, ModelDeployments};
use mlops_registry::promotion::{Autoscaling, EnvironmentPolicy, Environments, Promotions};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::sync::Arc;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

#[allow(clippy::disallowed_methods)] // a test switch, read from the environment by design
fn update() -> bool {
    std::env::var("MLOPS_UPDATE_GOLDEN").is_ok_and(|v| v == "1")
}

fn check_golden(name: &str, got: &str) {
    let path = format!("{GOLDEN}/{name}");
    if update() {
        std::fs::create_dir_all(GOLDEN).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run with MLOPS_UPDATE_GOLDEN=1)"));
    assert_eq!(got, want, "{name} differs from its golden file");
}

/// Two models deployed to staging (one scale-to-zero env), built from scratch.
async fn state() -> Promotions {
    let reg: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url("memory://bucket/registry")
            .build()
            .unwrap(),
    );
    let envs = Environments::default()
        .with_policy(
            "staging",
            EnvironmentPolicy::default()
                .with_approvals(1)
                .with_required_gates(["no_feature_drift"]),
        )
        .unwrap()
        .with_autoscaling(
            "staging",
            Autoscaling {
                min_replicas: 0,
                max_replicas: 4,
                target_concurrency: 8,
            },
        )
        .unwrap();
    let p = Promotions::new(reg.clone(), Storage::memory()).with_environments(envs);
    let ci = Principal::service("ci");
    for (model, format) in [("fraud", Some("xgboost")), ("churn", None)] {
        let m = model.parse().unwrap();
        reg.create_model(&m).await.unwrap();
        let mut nv = NewModelVersion::new(&ci)
            .with_artifact(
                ArtifactPath::new("model.bin").unwrap(),
                format!("{model} weights"),
            )
            .with_artifact(ArtifactPath::new("MLmodel").unwrap(), "flavors: {}\n");
        if let Some(f) = format {
            nv = nv.with_tag("model_format", f);
        }
        reg.create_version(&m, nv).await.unwrap();
        let req = p.request(&m, 1, "staging", &ci, "nightly").await.unwrap();
        p.approve(&req, &Principal::user("dana"), "ok")
            .await
            .unwrap();
        p.attach_report(
            &req,
            GateReport::new("no_feature_drift", "mlops-monitor", true),
        )
        .await
        .unwrap();
        p.promote(&req, &ci).await.unwrap();
    }
    p
}

#[tokio::test]
async fn model_deployments_golden() {
    let p = state().await;
    let yaml = p.export_deployments("staging").await.unwrap();
    check_golden("model_deployments.yaml", &yaml);
    // same state, built again from scratch: byte-identical
    let again = state().await.export_deployments("staging").await.unwrap();
    assert_eq!(yaml, again);
    // it parses back into the documented shape
    let back: ModelDeployments = serde_yaml_ng::from_str(&yaml).unwrap();
    assert_eq!(back.kind, "ModelDeployments");
    assert_eq!(back.spec.models.len(), 2);
    assert_eq!(back.spec.models[0].name, "churn");
    // an environment with nothing deployed exports an empty list
    let empty = p.export_deployments("production").await.unwrap();
    assert!(empty.contains("models: []"), "{empty}");
}

#[tokio::test]
async fn kserve_golden() {
    let p = state().await;
    let opts =
        KServeOptions::default().with_storage_rewrite("memory://bucket", "s3://models-bucket");
    let yaml = p.export_kserve("staging", &opts).await.unwrap();
    check_golden("kserve_staging.yaml", &yaml);
    assert_eq!(
        yaml,
        state().await.export_kserve("staging", &opts).await.unwrap()
    );
    let docs: Vec<serde_yaml_ng::Value> = yaml
        .split("---\n")
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 2);
    let pred = &docs[1]["spec"]["predictor"];
    assert_eq!(
        docs[1]["apiVersion"].as_str(),
        Some("serving.kserve.io/v1beta1")
    );
    assert_eq!(pred["minReplicas"].as_u64(), Some(0)); // scale to zero
    assert_eq!(pred["maxReplicas"].as_u64(), Some(4));
    assert_eq!(pred["scaleTarget"].as_u64(), Some(8));
    assert_eq!(pred["scaleMetric"].as_str(), Some("concurrency"));
    assert_eq!(
        pred["model"]["modelFormat"]["name"].as_str(),
        Some("xgboost")
    );
    assert!(
        pred["model"]["storageUri"]
            .as_str()
            .unwrap()
            .starts_with("s3://models-bucket/registry/models/fraud/artifacts/")
    );
}
