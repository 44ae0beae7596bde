//! The SageMaker backend against moto's server (`MLOPS_TEST_MOTO_URL`): the
//! conformance suite (minus [`MOTO_GAPS`], which the contract tests cover),
//! paging, sorting, approval, AssumeRole through moto's STS, and one test with
//! SigV4 verification switched on in a second, private moto.
//!
//! The shared moto is not reset here (other test binaries may use it at the same
//! time); every test works in a fresh random namespace instead. The private moto
//! of the SigV4 test is reset through `POST /moto-api/reset` before use.
#![cfg(feature = "sagemaker")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mlops_core::http::{HttpClient, Method, RequestSpec};
use mlops_core::{ErrorKind, Principal, Secret};
use mlops_registry::sagemaker::{
    ApprovalStatus, AssumeRole, AwsCredentials, MOTO_GAPS, SageMakerRegistry, SigV4Signer,
};
use mlops_registry::{ModelQuery, ModelRegistry, NewModelVersion, RegistryExt, VersionQuery};
use std::sync::Arc;

async fn registry(url: &str) -> SageMakerRegistry {
    let bucket = format!("sm-{}", &mlops_core::testkit::namespace()[2..20]);
    let storage = mlops_core::testkit::moto_bucket(url, &bucket)
        .await
        .unwrap();
    SageMakerRegistry::builder()
        .with_region("us-east-1")
        .with_endpoint(url)
        .with_static_credentials("testing", "testing-secret")
        .with_artifact_storage(storage)
        .with_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7")
        .with_emulator_gaps(true)
        .build()
        .unwrap()
}

#[tokio::test]
async fn conformance_on_moto() {
    let Some(url) = mlops_core::testkit::server("MLOPS_TEST_MOTO_URL") else {
        return;
    };
    let reg = registry(&url).await;
    let caps = reg.capabilities();
    assert!(
        !caps.delete_models && !caps.delete_versions,
        "moto gaps masked"
    );
    assert!(MOTO_GAPS.iter().any(|(op, _)| *op == "DeleteModelPackage"));
    let ran = mlops_registry::conformance::run_all(&reg).await.unwrap();
    assert_eq!(ran, 9, "aliases and deletes are skipped on moto only");
}

#[tokio::test]
async fn paging_sorting_and_approval() {
    let Some(url) = mlops_core::testkit::server("MLOPS_TEST_MOTO_URL") else {
        return;
    };
    let reg = registry(&url).await;
    let ns = mlops_core::testkit::namespace();
    for s in ["c", "a", "b"] {
        reg.create_model(&format!("{ns}-{s}").parse().unwrap())
            .await
            .unwrap();
    }
    // sorted by name, one per page
    let mut q = ModelQuery {
        name_prefix: Some(ns.clone()),
        page_size: 1,
        ..ModelQuery::default()
    };
    let mut names = vec![];
    loop {
        let p = reg.search_models(&q).await.unwrap();
        assert!(p.items.len() <= 1);
        names.extend(p.items.into_iter().map(|m| m.name.to_string()));
        match p.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(names, ["a", "b", "c"].map(|s| format!("{ns}-{s}")));

    let m = format!("{ns}-a").parse().unwrap();
    let ci = Principal::service("ci");
    for i in 0..3 {
        let v = reg
            .create_version(
                &m,
                NewModelVersion::new(&ci).with_description(format!("v{i}")),
            )
            .await
            .unwrap();
        assert_eq!(v.version, i + 1);
    }
    assert_eq!(
        reg.approval(&m, 2).await.unwrap(),
        Some(ApprovalStatus::Pending)
    );
    reg.set_approval(&m, 2, ApprovalStatus::Approved, "passed gates")
        .await
        .unwrap();
    assert_eq!(
        reg.approval(&m, 2).await.unwrap(),
        Some(ApprovalStatus::Approved)
    );
    // approval keeps the version's fields (moto clears what is not sent)
    let v2 = reg.get_version(&m, 2).await.unwrap();
    assert_eq!(v2.description.as_deref(), Some("v1"));
    assert_eq!(v2.creator, "ci");
    // a tag update keeps the approval
    reg.set_version_tag(&m, 2, "stage", "prod").await.unwrap();
    assert_eq!(
        reg.approval(&m, 2).await.unwrap(),
        Some(ApprovalStatus::Approved)
    );
    // SageMaker's own filter sees the approval
    let approved: serde_json::Value = reg
        .client()
        .call(
            "ListModelPackages",
            &serde_json::json!({"ModelPackageGroupName": m.as_str(), "ModelApprovalStatus": "Approved"}),
        )
        .await
        .unwrap();
    let list = approved["ModelPackageSummaryList"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["ModelPackageVersion"], 2);
    // versions page in ascending order
    let p = reg
        .search_versions(
            &m,
            &VersionQuery {
                page_size: 2,
                ..VersionQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        p.items.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(p.next_page_token.is_some());
    // aliases are the ledger's job here
    let e = reg
        .set_alias(&m, &"prod".parse().unwrap(), 1)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let e = reg.get_version(&m, 9).await.unwrap_err();
    assert_eq!(e.to_string(), format!("model {m} has no version 9"));
}

#[tokio::test]
async fn assume_role_through_moto_sts() {
    let Some(url) = mlops_core::testkit::server("MLOPS_TEST_MOTO_URL") else {
        return;
    };
    let reg = SageMakerRegistry::builder()
        .with_region("us-east-1")
        .with_endpoint(&url)
        .with_static_credentials("AKIDBASE", "base-secret-value")
        .with_assume_role(
            AssumeRole::new("arn:aws:iam::123456789012:role/mlops-production")
                .with_external_id("mlops-rs"),
        )
        .with_artifact_url("memory://")
        .build()
        .unwrap();
    let m = format!("{}-role", mlops_core::testkit::namespace())
        .parse()
        .unwrap();
    let got = reg.create_model(&m).await.unwrap();
    assert_eq!(got.name, m);
    assert!(!format!("{reg:?}").contains("base-secret-value"));
}

/// Asks the OS for a free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Moto(tokio::process::Child);
impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

async fn iam(client: &HttpClient, url: &str, form: &str) -> String {
    let spec = RequestSpec::new(Method::POST, url)
        .unwrap()
        .with_body(form.to_string(), "application/x-www-form-urlencoded");
    let (status, _, body) = client.send_raw(spec).await.unwrap();
    let text = String::from_utf8_lossy(&body).to_string();
    assert!(status.is_success(), "{form}: {status} {text}");
    text
}

fn xml_field(xml: &str, tag: &str) -> String {
    let s = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let e = xml[s..].find(&format!("</{tag}>")).unwrap() + s;
    xml[s..e].to_string()
}

/// SigV4 verification on: a private moto (the shared one stays in no-auth mode,
/// other tests need it so) with `reset-auth`, an IAM user and key; our signer's
/// requests pass, a wrong secret gets `Unauthenticated`.
#[tokio::test]
async fn sigv4_verified_by_moto() {
    // Runs wherever the shared moto runs (same python and moto install).
    if mlops_core::testkit::server("MLOPS_TEST_MOTO_URL").is_none() {
        return;
    }
    let port = free_port();
    let child = tokio::process::Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 -m moto.server");
    let _moto = Moto(child);
    let url = format!("http://127.0.0.1:{port}");
    let plain = HttpClient::builder().build().unwrap();
    let mut up = false;
    for _ in 0..300 {
        let spec = RequestSpec::new(Method::POST, &format!("{url}/moto-api/reset")).unwrap();
        if plain
            .send_raw(spec)
            .await
            .is_ok_and(|(s, _, _)| s.is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "private moto did not start on {url}");
    // four free requests: the artifact bucket, create user, put policy, create key
    let spec = RequestSpec::new(Method::POST, &format!("{url}/moto-api/reset-auth"))
        .unwrap()
        .with_body("4", "text/plain");
    assert!(plain.send_raw(spec).await.unwrap().0.is_success());
    let spec = RequestSpec::new(Method::PUT, &format!("{url}/signed-artifacts")).unwrap();
    assert!(plain.send_raw(spec).await.unwrap().0.is_success());
    let boot = AwsCredentials::new("AKIDBOOT", Secret::new("boot".into()), None);
    let iam_client = HttpClient::builder()
        .with_signer(Arc::new(SigV4Signer::with_static(boot, "us-east-1", "iam")))
        .build()
        .unwrap();
    iam(
        &iam_client,
        &url,
        "Action=CreateUser&UserName=ci&Version=2010-05-08",
    )
    .await;
    let policy =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let form = format!(
        "Action=PutUserPolicy&UserName=ci&PolicyName=all&PolicyDocument={}&Version=2010-05-08",
        url::form_urlencoded::byte_serialize(policy.as_bytes()).collect::<String>()
    );
    iam(&iam_client, &url, &form).await;
    let key = iam(
        &iam_client,
        &url,
        "Action=CreateAccessKey&UserName=ci&Version=2010-05-08",
    )
    .await;
    let (id, secret) = (
        xml_field(&key, "AccessKeyId"),
        xml_field(&key, "SecretAccessKey"),
    );

    let build = |secret: &str| {
        SageMakerRegistry::builder()
            .with_region("us-east-1")
            .with_endpoint(&url)
            .with_static_credentials(&id, secret)
            .with_artifact_url("memory://")
            .build()
            .unwrap()
    };
    let good = build(&secret);
    let m = "signed-model".parse().unwrap();
    good.create_model(&m).await.unwrap();
    assert_eq!(good.get_model(&m).await.unwrap().name, m);
    // The artifact bucket is reached with the registry's credentials, not the
    // environment's: no key in the storage options, and moto verifies S3 signatures.
    let signed_s3 = |secret: &str| {
        SageMakerRegistry::builder()
            .with_region("us-east-1")
            .with_endpoint(&url)
            .with_static_credentials(&id, secret)
            .with_artifact_url("s3://signed-artifacts/sm")
            .with_artifact_option("endpoint", &url)
            .with_artifact_option("allow_http", "true")
            .with_artifact_option("virtual_hosted_style_request", "false")
            .with_artifact_option("region", "us-east-1")
            .with_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7")
            .build()
            .unwrap()
    };
    let with_s3 = signed_s3(&secret);
    let weights = mlops_core::path::ArtifactPath::new("model/weights.bin").unwrap();
    let v = with_s3
        .create_version(
            &m,
            NewModelVersion::new(&Principal::user("ci"))
                .with_artifact(weights.clone(), vec![5u8; 2048]),
        )
        .await
        .unwrap();
    assert_eq!(
        &with_s3.get_artifact(&m, v.version, &weights).await.unwrap()[..],
        &[5u8; 2048][..]
    );
    let bad = build("wrong-secret-value");
    let e = bad.get_model(&m).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    let shown = format!("{e} {e:?} {bad:?}");
    assert!(
        !shown.contains("wrong-secret-value") && !shown.contains(&secret),
        "{shown}"
    );
}
