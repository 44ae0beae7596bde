//! The promotion workflow end to end on the remote backends, cross-registry
//! promotion from an embedded `file://` registry, and a log capture proving no
//! credential reaches the logs. SageMaker runs on moto (`MLOPS_TEST_MOTO_URL`);
//! Vertex on the strict fake modelled from the discovery document
//! (`support/vertex_fake.rs`), not on the real service.
#![cfg(all(feature = "sagemaker", feature = "vertex"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use mlops_core::http::mock_server::{MockResponse, MockServer};
use mlops_core::path::ArtifactPath;
use mlops_core::{LineageRef, Principal, RunRef, Storage};
use mlops_registry::promotion::{
    Environment, EnvironmentPolicy, Environments, Promotions, copy_version,
};
use mlops_registry::sagemaker::{ApprovalStatus, SageMakerRegistry};
use mlops_registry::vertex::{LroOptions, VertexRegistry};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::vertex_fake::{Fake, LOCATION, PROJECT, TOKEN};

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

/// dev (embedded file://) → remote: copy with verified digests and lineage,
/// then staging → production through the workflow.
async fn promote_through(
    remote: Arc<dyn ModelRegistry>,
    mirror: Option<Arc<dyn mlops_registry::promotion::DeploymentMirror>>,
) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let dev = EmbeddedRegistry::builder()
        .with_url(format!("file://{}", dir.path().display()))
        .build()
        .unwrap();
    let m = format!("{}-promo", mlops_core::testkit::namespace())
        .parse()
        .unwrap();
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

    let mut promos = Promotions::new(remote.clone(), Storage::memory()).with_environments(envs());
    if let Some(m) = mirror {
        promos = promos.with_mirror(m);
    }
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
    if remote.capabilities().native_aliases {
        let v = remote
            .resolve_alias(&m, &"production".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(v.version, copied.version);
    }
    copied.version
}

#[tokio::test]
async fn sagemaker_promotion_end_to_end() {
    let Some(url) = mlops_core::testkit::server("MLOPS_TEST_MOTO_URL") else {
        return;
    };
    let bucket = format!("sp-{}", &mlops_core::testkit::namespace()[2..20]);
    let storage = mlops_core::testkit::moto_bucket(&url, &bucket)
        .await
        .unwrap();
    let sm = Arc::new(
        SageMakerRegistry::builder()
            .with_region("us-east-1")
            .with_endpoint(&url)
            .with_static_credentials("testing", "testing-secret")
            .with_artifact_storage(storage)
            .with_emulator_gaps(true)
            .build()
            .unwrap(),
    );
    let mirror = Arc::new(mlops_registry::sagemaker::ApprovalMirror::new(sm.clone()));
    let version = promote_through(sm.clone(), Some(mirror)).await;
    // production approval mirrored onto ModelApprovalStatus by the workflow itself
    let models = sm.all_models().await.unwrap();
    let m = models
        .iter()
        .find(|x| x.name.as_str().ends_with("-promo") && x.latest_version == Some(version))
        .unwrap();
    assert_eq!(
        sm.approval(&m.name, version).await.unwrap(),
        Some(ApprovalStatus::Approved)
    );
}

#[tokio::test]
async fn vertex_promotion_end_to_end() {
    let fake = Fake::start().await;
    let vx = VertexRegistry::builder()
        .with_project(PROJECT)
        .with_location(LOCATION)
        .with_endpoint(fake.root())
        .with_static_token(TOKEN)
        .with_image("img")
        .with_artifact_url("memory://")
        .with_lro_options(LroOptions {
            initial: Duration::from_millis(5),
            max: Duration::from_millis(20),
            timeout: Duration::from_secs(10),
        })
        .build()
        .unwrap();
    promote_through(Arc::new(vx), None).await;
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl std::io::Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Retries, errors and token fetches logged at TRACE never carry a credential.
#[tokio::test(flavor = "current_thread")]
async fn credentials_never_reach_the_logs() {
    let buf = Buf::default();
    let sink = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    server.push(MockResponse::json(
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    ));
    server.push(MockResponse::json(403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code><Message>no</Message></Error></ErrorResponse>"));
    let sm = SageMakerRegistry::builder()
        .with_region("us-east-1")
        .with_endpoint(server.url("/"))
        .with_static_credentials("AKIDLOGTEST", "log-secret-access-key")
        .with_artifact_url("memory://")
        .build()
        .unwrap();
    let e = sm.get_model(&"m".parse().unwrap()).await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, registry = ?sm, "sagemaker call failed");

    let fake = Fake::start().await;
    fake.server.push(MockResponse::status(503));
    let vx = VertexRegistry::builder()
        .with_project(PROJECT)
        .with_location(LOCATION)
        .with_endpoint(fake.root())
        .with_static_token("ya29.log-secret-token")
        .with_image("img")
        .with_artifact_url("memory://")
        .build()
        .unwrap();
    let e = vx.get_version(&"m".parse().unwrap(), 1).await.unwrap_err();
    tracing::error!(error = %e, debug = ?e, registry = ?vx, "vertex call failed");

    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("retrying http request"),
        "retries were logged: {logs}"
    );
    assert!(logs.contains("sagemaker call failed") && logs.contains("vertex call failed"));
    // The access key *id* is an identifier, not a credential (it travels in clear in
    // every request's credential scope); aws-sigv4 itself logs it at TRACE.
    for secret in [
        "log-secret-access-key",
        "ya29.log-secret-token",
        "Signature=",
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into logs:\n{logs}");
    }
}
