//! Conformance on every storage: `memory://` and `file://` (also inline in the
//! crate), `s3://` on moto (`MLOPS_TEST_MOTO_URL`), plus integrity on download.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers outside #[test] fns panic on failure by design

use mlops_core::path::ArtifactPath;
use mlops_core::{ErrorKind, Principal, Storage};
use mlops_registry::promotion::Promotions;
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt, conformance};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_memory() {
    let reg = EmbeddedRegistry::builder()
        .with_url("memory://")
        .build()
        .unwrap();
    assert_eq!(conformance::run_all(&reg).await.unwrap(), 12);
    conformance::concurrent_model_create(&reg, 8).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_file_through_arc_dyn() {
    let dir = tempfile::tempdir().unwrap();
    let reg: Arc<dyn ModelRegistry> = Arc::new(
        EmbeddedRegistry::builder()
            .with_url(format!("file://{}", dir.path().display()))
            .build()
            .unwrap(),
    );
    // the blanket impls forward every method
    assert_eq!(conformance::run_all(&reg).await.unwrap(), 12);
    conformance::concurrent_model_create(&reg, 8).await.unwrap();
    let boxed: Box<dyn ModelRegistry> = Box::new(reg.clone());
    assert_eq!(conformance::run_all(&boxed).await.unwrap(), 12);
}

async fn moto_storage() -> Option<Storage> {
    let url = mlops_core::testkit::server("MLOPS_TEST_MOTO_URL")?;
    let bucket = mlops_core::testkit::namespace();
    Some(
        mlops_core::testkit::moto_bucket(&url, &bucket)
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3_moto() {
    let Some(storage) = moto_storage().await else {
        return;
    };
    let reg = EmbeddedRegistry::builder()
        .with_storage(storage.child("registry").unwrap())
        .build()
        .unwrap();
    assert_eq!(conformance::run_all(&reg).await.unwrap(), 12);
    conformance::concurrent_model_create(&reg, 8).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promotion_on_s3_moto() {
    let Some(storage) = moto_storage().await else {
        return;
    };
    let reg: Arc<dyn ModelRegistry> = Arc::new(EmbeddedRegistry::from_storage(
        storage.child("registry").unwrap(),
    ));
    let p = Promotions::new(reg.clone(), storage.child("ledger").unwrap());
    let m = "fraud".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    let ci = Principal::service("ci");
    reg.create_version(&m, NewModelVersion::new(&ci))
        .await
        .unwrap();
    let req = p.request(&m, 1, "qa", &ci, "nightly").await.unwrap();
    p.approve(&req, &Principal::user("dana"), "ok")
        .await
        .unwrap();
    let d = p.promote(&req, &ci).await.unwrap();
    assert_eq!(d.version, 1);
    assert_eq!(
        reg.resolve_alias(&m, &"qa".parse().unwrap())
            .await
            .unwrap()
            .version,
        1
    );
    let yaml = p.export_deployments("qa").await.unwrap();
    assert!(yaml.contains("artifactUri: s3://"), "{yaml}");
}

#[tokio::test]
async fn corrupted_byte_is_an_integrity_error() {
    let dir = tempfile::tempdir().unwrap();
    let reg = EmbeddedRegistry::builder()
        .with_url(format!("file://{}", dir.path().display()))
        .build()
        .unwrap();
    let m = "fraud".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    let path = ArtifactPath::new("model/weights.bin").unwrap();
    let v = reg
        .create_version(
            &m,
            NewModelVersion::new(&Principal::user("alice"))
                .with_artifact(path.clone(), vec![0u8; 1 << 16]),
        )
        .await
        .unwrap();
    assert_eq!(reg.get_artifact(&m, 1, &path).await.unwrap().len(), 1 << 16);
    // the blob behind the artifact, in core's blob store
    let hex = v
        .artifacts
        .get("model/weights.bin")
        .unwrap()
        .digest
        .to_hex();
    let file = dir.path().join(format!("blobs/{}/{hex}", &hex[..2]));
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[12345] = 1; // one byte
    std::fs::write(&file, bytes).unwrap();
    let e = reg.get_artifact(&m, 1, &path).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Integrity);
    let msg = e.to_string();
    assert!(
        msg.starts_with("integrity check failed for artifact model/weights.bin of model fraud"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "expected {}",
            v.artifacts.get(path.as_str()).unwrap().digest
        )),
        "{msg}"
    );
}
