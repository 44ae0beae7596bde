//! The Vertex AI backend. No Vertex emulator exists, so these tests run against a
//! **strict local fake modelled from the discovery document** (`support/vertex_fake.rs`):
//! its requests and responses are validated against `aiplatform.v1.json` (methods,
//! path templates, field names and proto3 JSON types), so neither the client nor
//! the fake can drift from the documented shapes — but nothing here proves the
//! real service's behaviour (filters, eventual consistency, IAM).
//!
//! Auth is tested against a fake metadata server (`GCE_METADATA_HOST`-style host
//! override) and a fake OAuth token endpoint that verifies the RS256 JWT signed
//! with a committed **test-only** key (`support/TEST-ONLY-service-account-key.json`,
//! generated for these tests, valid nowhere).
#![cfg(feature = "vertex")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use base64::Engine;
use mlops_core::http::RetryConfig;
use mlops_core::http::mock_server::{MockResponse, MockServer};
use mlops_core::{ErrorKind, Principal};
use mlops_registry::vertex::client::{Model, ROUTES};
use mlops_registry::vertex::token::{SCOPE, jwt_assertion};
use mlops_registry::vertex::{
    LroOptions, MetadataServer, ServiceAccount, ServiceAccountKey, TokenProvider, VertexRegistry,
};
use mlops_registry::{ModelRegistry, NewModelVersion, RegistryExt, VersionQuery};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use support::vertex_fake::{Fake, LOCATION, PROJECT, TOKEN};

const KEY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/support/TEST-ONLY-service-account-key.json"
);

fn fast_lro() -> LroOptions {
    LroOptions {
        initial: Duration::from_millis(5),
        max: Duration::from_millis(20),
        timeout: Duration::from_secs(10),
    }
}

fn registry(fake: &Fake) -> VertexRegistry {
    VertexRegistry::builder()
        .with_project(PROJECT)
        .with_location(LOCATION)
        .with_endpoint(fake.root())
        .with_static_token(TOKEN)
        .with_image("europe-docker.pkg.dev/acme/serve/xgb:1")
        .with_artifact_url("memory://")
        .with_lro_options(fast_lro())
        .build()
        .unwrap()
}

#[test]
fn routes_match_the_discovery_document() {
    for (id, verb, path) in ROUTES {
        let m = support::discovery::method(id).unwrap_or_else(|| panic!("{id} not in discovery"));
        assert_eq!(m["httpMethod"], *verb, "{id}");
        assert_eq!(m["path"], *path, "{id}");
    }
    // the upload body and its Model are documented shapes; output-only fields rejected
    let body = serde_json::json!({"modelId": "churn", "model": Model {
        display_name: Some("churn".into()),
        labels: [("mlops-status".to_string(), "ready".to_string())].into(),
        container_spec: Some(serde_json::json!({"imageUri": "x"})),
        metadata: Some(serde_json::json!({"mlops": {"creator": "a"}})),
        ..Model::default()
    }});
    assert!(
        support::discovery::check("GoogleCloudAiplatformV1UploadModelRequest", &body, true)
            .is_empty()
    );
    let bad = serde_json::json!({"model": {"displayName": "x", "versionId": "1", "labelz": {}}});
    let v = support::discovery::check("GoogleCloudAiplatformV1UploadModelRequest", &bad, true);
    assert!(v.iter().any(|e| e.contains("output-only")), "{v:?}");
    assert!(
        v.iter().any(|e| e.contains("labelz: unknown field")),
        "{v:?}"
    );
}

#[tokio::test]
async fn conformance_on_the_strict_fake() {
    let fake = Fake::start().await;
    let reg = registry(&fake);
    let ran = mlops_registry::conformance::run_all(&reg).await.unwrap();
    assert_eq!(
        ran, 12,
        "every check runs: aliases, version and model deletes included"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn uploads_poll_operations_and_labels_filter() {
    let fake = Fake::start().await;
    let reg = registry(&fake);
    let m = "churn".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    let ci = Principal::service("ci");
    for i in 0..3 {
        reg.create_version(
            &m,
            NewModelVersion::new(&ci).with_tag("parity", (i % 2).to_string()),
        )
        .await
        .unwrap();
    }
    let polls = fake
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/operations/"))
        .count();
    assert!(polls >= 6, "each upload was polled until done ({polls})");
    let q = VersionQuery {
        tag: Some(("parity".into(), "0".into())),
        ..VersionQuery::default()
    };
    let got: Vec<u64> = reg
        .search_versions(&m, &q)
        .await
        .unwrap()
        .items
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(got, vec![1, 3]);
    // the filter went to the server
    assert!(
        fake.server
            .requests()
            .iter()
            .any(|r| r.path.contains("filter=labels.parity%3D0"))
    );
    // models.list with a label filter
    let page = reg
        .client()
        .list_models(Some("labels.mlops-status=ready"), 10, None)
        .await
        .unwrap();
    assert_eq!(page.models.len(), 1);
    assert_eq!(page.models[0].version_aliases, vec!["default".to_string()]);
    // Vertex's own rules, named
    let e = reg
        .create_version(&m, NewModelVersion::new(&ci).with_tag("Team", "risk"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(
        e.to_string()
            .contains("Vertex label keys start with a lower-case letter"),
        "{e}"
    );
    let e = reg
        .set_alias(&m, &"default".parse().unwrap(), 1)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Vertex AI's own alias"), "{e}");
    // the default version cannot be deleted: the service's refusal is a conflict
    let e = reg.delete_version(&m, 1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn retries_and_no_duplicate_creates() {
    let fake = Fake::start().await;
    let reg = VertexRegistry::builder()
        .with_project(PROJECT)
        .with_location(LOCATION)
        .with_endpoint(fake.root())
        .with_static_token(TOKEN)
        .with_image("img")
        .with_artifact_url("memory://")
        .with_lro_options(fast_lro())
        .with_retry(RetryConfig::default().with_budget(Duration::from_secs(10)))
        .with_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let m = "retry".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    reg.create_version(&m, NewModelVersion::new(&Principal::service("ci")))
        .await
        .unwrap();
    // reads survive 429 (Retry-After), 503 and a dropped connection
    fake.server
        .push(MockResponse::status(429).with_header("retry-after", "0"));
    fake.server.push(MockResponse::status(503));
    fake.server.push(MockResponse::drop_connection());
    // a slow answer times the attempt out and is retried
    fake.server
        .push(MockResponse::json(200, "{}").with_delay(Duration::from_secs(3)));
    let before = fake.server.requests().len();
    assert_eq!(reg.get_version(&m, 1).await.unwrap().version, 1);
    assert_eq!(
        fake.server.requests().len() - before,
        5,
        "429, 503, drop, slow, then the answer"
    );
    // an upload answered 503 is not repeated: no duplicate version
    fake.server.push(MockResponse::status(503));
    let model = Model {
        display_name: Some("retry".into()),
        container_spec: Some(serde_json::json!({"imageUri": "img"})),
        ..Model::default()
    };
    let parent = reg.client().model_name("retry");
    let e = reg
        .client()
        .upload(None, Some(&parent), &model)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(reg.all_versions(&m).await.unwrap().len(), 1);
    // a wrong token is Unauthenticated and never quoted
    let bad = VertexRegistry::builder()
        .with_project(PROJECT)
        .with_location(LOCATION)
        .with_endpoint(fake.root())
        .with_static_token("ya29.wrong-secret-token")
        .with_image("img")
        .with_artifact_url("memory://")
        .build()
        .unwrap();
    let e = bad.get_version(&m, 1).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    let shown = format!("{e} {e:?} {bad:?} {reg:?}");
    assert!(
        !shown.contains("wrong-secret-token") && !shown.contains(TOKEN),
        "{shown}"
    );
}

#[tokio::test]
async fn metadata_server_tokens() {
    let md = MockServer::start().await;
    md.set_fallback(|r| {
        if r.header("metadata-flavor") != Some("Google")
            || r.path != "/computeMetadata/v1/instance/service-accounts/default/token"
        {
            return MockResponse::status(403);
        }
        MockResponse::json(
            200,
            r#"{"access_token":"ya29.from-metadata","expires_in":3599,"token_type":"Bearer"}"#,
        )
    });
    let host = md.addr().to_string(); // what GCE_METADATA_HOST holds
    let p = MetadataServer::new(Some(&host)).unwrap();
    assert_eq!(p.token().await.unwrap().expose(), "ya29.from-metadata");
    assert_eq!(p.token().await.unwrap().expose(), "ya29.from-metadata");
    assert_eq!(
        md.requests().len(),
        1,
        "the token is cached until near expiry"
    );
    assert!(!format!("{p:?}").contains("from-metadata"));

    // the builder picks the metadata server when nothing else is configured,
    // honouring GCE_METADATA_HOST
    let md2 = MockServer::start().await;
    md2.set_fallback(|r| match r.header("metadata-flavor") {
        Some("Google") => MockResponse::json(
            200,
            format!(r#"{{"access_token":"{TOKEN}","expires_in":3599}}"#),
        ),
        _ => MockResponse::status(403),
    });
    let fake = Fake::start().await;
    let env: std::collections::BTreeMap<String, String> = [
        ("GCE_METADATA_HOST", md2.addr().to_string()),
        ("GOOGLE_CLOUD_PROJECT", PROJECT.to_string()),
        ("GOOGLE_CLOUD_REGION", LOCATION.to_string()),
        ("MLOPS_VERTEX_ENDPOINT", fake.root()),
        ("MLOPS_VERTEX_ARTIFACTS", "memory://".to_string()),
        ("MLOPS_VERTEX_IMAGE", "img".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let reg = VertexRegistry::builder()
        .with_env(env)
        .with_lro_options(fast_lro())
        .build()
        .unwrap();
    let m = "md".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    assert_eq!(
        reg.create_version(&m, NewModelVersion::new(&Principal::service("ci")))
            .await
            .unwrap()
            .version,
        1
    );
    assert_eq!(md2.requests().len(), 1);
}

#[tokio::test]
async fn service_account_jwt_flow() {
    let text = std::fs::read_to_string(KEY).unwrap();
    let mut key = ServiceAccountKey::from_json(&text).unwrap();
    // the fake token endpoint verifies the assertion with the key's public half
    let pem = key.private_key.expose().clone();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let public = pair.public().as_ref().to_vec();
    let endpoint = MockServer::start().await;
    let audience = endpoint.url("/token");
    let aud2 = audience.clone();
    endpoint.set_fallback(move |r| {
        let form: std::collections::BTreeMap<String, String> =
            url::form_urlencoded::parse(&r.body).into_owned().collect();
        assert_eq!(
            form["grant_type"],
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        let jwt = &form["assertion"];
        let (input, sig) = jwt.rsplit_once('.').unwrap();
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        let key = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &public,
        );
        if key.verify(input.as_bytes(), &sig).is_err() {
            return MockResponse::json(400, r#"{"error":"invalid_grant"}"#);
        }
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(input.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims["iss"],
            "mlops-test@mlops-test.iam.gserviceaccount.com"
        );
        assert_eq!(claims["aud"], aud2.as_str());
        assert_eq!(claims["scope"], SCOPE);
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            3600
        );
        MockResponse::json(
            200,
            format!(r#"{{"access_token":"{TOKEN}","expires_in":3600}}"#),
        )
    });
    key.token_uri = audience;
    let header: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(
                jwt_assertion(&key, SCOPE, SystemTime::now())
                    .unwrap()
                    .split('.')
                    .next()
                    .unwrap(),
            )
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], "test-only-key-1");
    let provider = Arc::new(ServiceAccount::new(key.clone()).unwrap());
    // the whole registry on the minted token
    let fake = Fake::start().await;
    let reg = VertexRegistry::builder()
        .with_project(PROJECT)
        .with_location(LOCATION)
        .with_endpoint(fake.root())
        .with_token_provider(provider.clone())
        .with_image("img")
        .with_artifact_url("memory://")
        .with_lro_options(fast_lro())
        .build()
        .unwrap();
    let m = "jwt".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    let v = reg
        .create_version(&m, NewModelVersion::new(&Principal::service("ci")))
        .await
        .unwrap();
    assert_eq!(v.version, 1);
    assert_eq!(
        endpoint.requests().len(),
        1,
        "one token minted, then cached"
    );
    let shown = format!("{key:?} {provider:?} {reg:?}");
    assert!(
        !shown.contains("PRIVATE KEY") && !shown.contains(&pem[40..80]) && !shown.contains(TOKEN),
        "{shown}"
    );
}
