//! The MLflow backend against a real MLflow 3.17.2 server (`MLOPS_TEST_MLFLOW_URI`;
//! start one with `shared/tools/mlflow-server.sh PORT`). Every test uses its own
//! random model names: CI shares one server.
#![cfg(feature = "mlflow")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mlops_core::path::ArtifactPath;
use mlops_core::{ErrorKind, LineageRef, Principal, RunRef, Storage};
use mlops_registry::mlflow::MlflowRegistry;
use mlops_registry::promotion::{
    Environment, EnvironmentPolicy, Environments, Promotions, copy_version,
};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::sync::Arc;

fn registry() -> Option<MlflowRegistry> {
    let uri = mlops_core::testkit::server("MLOPS_TEST_MLFLOW_URI")?;
    Some(MlflowRegistry::builder().with_url(uri).build().unwrap())
}

fn name(suffix: &str) -> mlops_core::name::ModelName {
    format!("{}-{suffix}", mlops_core::testkit::namespace())
        .parse()
        .unwrap()
}

#[tokio::test]
async fn conformance_suite_passes() {
    let Some(reg) = registry() else { return };
    let ran = mlops_registry::conformance::run_all(&reg).await.unwrap();
    assert!(ran >= 12, "ran {ran} checks");
}

#[tokio::test]
async fn quirks_are_mapped() {
    let Some(reg) = registry() else { return };
    let m = name("quirk");
    reg.create_model(&m).await.unwrap();
    // MLflow answers a duplicate with 400 RESOURCE_ALREADY_EXISTS
    let e = reg.create_model(&m).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    // ... and a missing alias with 400 INVALID_PARAMETER_VALUE
    let e = reg
        .resolve_alias(&m, &"nope".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // MLflow deletes an unset alias silently; the trait reports it
    let e = reg
        .delete_alias(&m, &"nope".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // MLflow's reserved alias form is refused before any call, naming the rule
    let e = "v1".parse::<mlops_core::name::Alias>().unwrap_err();
    assert!(e.to_string().contains("'v<number>'"), "{e}");
    // the version sits inside a run's artifacts, its digest recorded as a tag
    let v = reg
        .create_version(
            &m,
            NewModelVersion::new(&Principal::user("alice"))
                .with_artifact(ArtifactPath::new("dir/model.bin").unwrap(), vec![7u8; 100]),
        )
        .await
        .unwrap();
    assert!(
        v.artifact_uri.starts_with("mlflow-artifacts:/"),
        "{}",
        v.artifact_uri
    );
    let wire = reg
        .client()
        .get_model_version(m.as_str(), v.version)
        .await
        .unwrap();
    assert!(!wire.run_id.is_empty());
    let tag = wire
        .tags
        .iter()
        .find(|t| t.key == mlops_registry::mlflow::DIGEST_TAG)
        .unwrap();
    assert_eq!(tag.value, v.manifest_digest.to_string());
    let back = reg
        .get_artifact(&m, v.version, &ArtifactPath::new("dir/model.bin").unwrap())
        .await
        .unwrap();
    assert_eq!(&back[..], &[7u8; 100][..]);
    reg.delete_model(&m).await.unwrap();
}

fn envs() -> Environments {
    let one = EnvironmentPolicy::default().with_approvals(1);
    Environments::new(vec![
        Environment::new("staging")
            .unwrap()
            .with_policy(one.clone()),
        Environment::new("production")
            .unwrap()
            .with_policy(one.with_require_previous(true)),
    ])
    .unwrap()
}

/// dev (embedded `file://`) → MLflow with verified digests and lineage, then
/// staging → production through the workflow with aliases mirrored natively.
#[tokio::test]
async fn cross_registry_promotion_end_to_end() {
    let Some(reg) = registry() else { return };
    let remote: Arc<dyn ModelRegistry> = Arc::new(reg);
    let dir = tempfile::tempdir().unwrap();
    let dev = EmbeddedRegistry::builder()
        .with_url(format!("file://{}", dir.path().display()))
        .build()
        .unwrap();
    let m = name("promo");
    let ci = Principal::service("ci");
    dev.create_model(&m).await.unwrap();
    let lineage = LineageRef::default()
        .with_run(RunRef {
            tracking_uri: "file:///mlruns".into(),
            run_id: "r42".into(),
        })
        .with_code_revision("3f2a9c1");
    let src = dev
        .create_version(
            &m,
            NewModelVersion::new(&ci)
                .with_artifact(ArtifactPath::new("model.bin").unwrap(), vec![9u8; 2048])
                .with_lineage(lineage),
        )
        .await
        .unwrap();
    let copied = copy_version(&dev, remote.as_ref(), &m, 1, &ci)
        .await
        .unwrap();
    assert_eq!(copied.manifest_digest, src.manifest_digest);
    assert_eq!(copied.artifacts, src.artifacts);
    assert_eq!(copied.lineage.run.as_ref().unwrap().run_id, "r42");
    assert_eq!(copied.lineage.parent.as_ref().unwrap().registry, dev.uri());
    let back = remote
        .get_artifact(&m, copied.version, &ArtifactPath::new("model.bin").unwrap())
        .await
        .unwrap();
    assert_eq!(&back[..], &[9u8; 2048][..]);

    let promos = Promotions::new(remote.clone(), Storage::memory()).with_environments(envs());
    for env in ["staging", "production"] {
        let req = promos
            .request(&m, copied.version, env, &ci, "release")
            .await
            .unwrap();
        promos
            .approve(&req, &Principal::user("dana"), "ok")
            .await
            .unwrap();
        let d = promos.promote(&req, &ci).await.unwrap();
        assert_eq!(d.version, copied.version);
    }
    let live = promos.deployed(&m, "production").await.unwrap().unwrap();
    assert_eq!(live.version, copied.version);
    let v = remote
        .resolve_alias(&m, &"production".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(v.version, copied.version);
    assert_eq!(v.manifest_digest, src.manifest_digest);
    let model = remote.get_model(&m).await.unwrap();
    assert_eq!(
        model.aliases.get(&"production".parse().unwrap()),
        Some(&copied.version)
    );
    remote.delete_model(&m).await.unwrap();
}
