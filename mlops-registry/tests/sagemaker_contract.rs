//! Contract tests for what moto cannot check ([`MOTO_GAPS`]): the SageMaker
//! backend runs against a scripted local server (core's `MockServer`), and every
//! request it sends is validated against botocore's API model subset
//! (`shared/testdata/sagemaker/sagemaker-model-registry.botocore-subset.json`):
//! the operation exists, the JSON 1.1 framing is right, required members are
//! present, no unknown members, enums, string lengths, map and list sizes.
#![cfg(feature = "sagemaker")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mlops_core::http::RetryConfig;
use mlops_core::http::mock_server::{MockResponse, MockServer};
use mlops_registry::sagemaker::{ApprovalStatus, MOTO_GAPS, SageMakerRegistry};
use mlops_registry::{ModelRegistry, ModelUpdate};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/sagemaker/sagemaker-model-registry.botocore-subset.json"
);

/// Checks `v` against shape `name`; returns every violation.
fn validate(model: &Value, name: &str, v: &Value, at: &str, out: &mut Vec<String>) {
    let shape = &model["shapes"][name];
    let len_ok = |n: usize| {
        shape["min"].as_u64().is_none_or(|m| n as u64 >= m)
            && shape["max"].as_u64().is_none_or(|m| n as u64 <= m)
    };
    match shape["type"].as_str().unwrap_or("") {
        "structure" => {
            let Some(obj) = v.as_object() else {
                return out.push(format!("{at}: not an object"));
            };
            for r in shape["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !obj.contains_key(r) {
                    out.push(format!("{at}: missing required {r}"));
                }
            }
            for (k, val) in obj {
                match shape["members"][k]["shape"].as_str() {
                    Some(s) => validate(model, s, val, &format!("{at}.{k}"), out),
                    None => out.push(format!("{at}: unknown member {k}")),
                }
            }
        }
        "string" => match v.as_str() {
            None => out.push(format!("{at}: not a string")),
            Some(s) => {
                if !len_ok(s.chars().count()) {
                    out.push(format!("{at}: length {} outside limits", s.chars().count()));
                }
                if let Some(e) = shape["enum"].as_array()
                    && !e.iter().any(|x| x == s)
                {
                    out.push(format!("{at}: {s:?} not in enum"));
                }
            }
        },
        "map" => match v.as_object() {
            None => out.push(format!("{at}: not a map")),
            Some(m) => {
                if !len_ok(m.len()) {
                    out.push(format!("{at}: {} entries outside limits", m.len()));
                }
                for (k, val) in m {
                    validate(
                        model,
                        shape["key"]["shape"].as_str().unwrap(),
                        &json!(k),
                        &format!("{at} key"),
                        out,
                    );
                    validate(
                        model,
                        shape["value"]["shape"].as_str().unwrap(),
                        val,
                        &format!("{at}.{k}"),
                        out,
                    );
                }
            }
        },
        "list" => match v.as_array() {
            None => out.push(format!("{at}: not a list")),
            Some(l) => {
                if !len_ok(l.len()) {
                    out.push(format!("{at}: {} items outside limits", l.len()));
                }
                for (i, x) in l.iter().enumerate() {
                    validate(
                        model,
                        shape["member"]["shape"].as_str().unwrap(),
                        x,
                        &format!("{at}[{i}]"),
                        out,
                    );
                }
            }
        },
        "integer" | "long" => match v.as_i64() {
            None => out.push(format!("{at}: not an integer")),
            Some(n) => {
                if shape["min"].as_i64().is_some_and(|m| n < m)
                    || shape["max"].as_i64().is_some_and(|m| n > m)
                {
                    out.push(format!("{at}: {n} outside limits"));
                }
            }
        },
        "boolean" => {
            if !v.is_boolean() {
                out.push(format!("{at}: not a boolean"));
            }
        }
        "timestamp" | "double" | "float" => {
            if !v.is_number() {
                out.push(format!("{at}: not a number"));
            }
        }
        other => out.push(format!("{at}: unhandled shape type {other:?} ({name})")),
    }
}

fn validate_op(model: &Value, op: &str, body: &Value) -> Vec<String> {
    let mut out = vec![];
    match model["operations"][op]["input"]["shape"].as_str() {
        Some(input) => validate(model, input, body, op, &mut out),
        None => out.push(format!("unknown operation {op}")),
    }
    out
}

#[test]
fn the_validator_catches_bad_requests() {
    let model: Value = serde_json::from_str(&std::fs::read_to_string(MODEL).unwrap()).unwrap();
    let bad = json!({"ModelPackageArn": "arn:x", "ModelApprovalStatus": "Bogus", "Extra": 1});
    let errs = validate_op(&model, "UpdateModelPackage", &bad);
    assert!(errs.iter().any(|e| e.contains("not in enum")), "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("unknown member Extra")),
        "{errs:?}"
    );
    let errs = validate_op(&model, "DeleteModelPackage", &json!({}));
    assert!(
        errs.iter()
            .any(|e| e.contains("missing required ModelPackageName")),
        "{errs:?}"
    );
    let too_many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let errs = validate_op(
        &model,
        "CreateModelPackage",
        &json!({"ModelPackageGroupName": "g", "CustomerMetadataProperties": too_many}),
    );
    assert!(errs.iter().any(|e| e.contains("51 entries")), "{errs:?}");
}

const GROUP_ARN: &str = "arn:aws:sagemaker:us-east-1:123456789012:model-package-group/churn";

/// A scripted SageMaker: enough answers for the calls moto cannot serve.
fn fake(server: &MockServer) {
    let lists = Arc::new(AtomicUsize::new(0));
    server.set_fallback(move |req| {
        let op = req.header("x-amz-target").unwrap_or("").trim_start_matches("SageMaker.");
        let body = match op {
            "DescribeModelPackageGroup" => json!({"ModelPackageGroupName": "churn",
                "ModelPackageGroupArn": GROUP_ARN, "CreationTime": 1795913127.254,
                "ModelPackageGroupStatus": "Completed"}),
            "DescribeModelPackage" => json!({"ModelPackageArn": format!("{}/1", GROUP_ARN.replace("-group", "")),
                "ModelPackageVersion": 1, "CreationTime": 1795913127.3, "ModelApprovalStatus": "Approved",
                "ApprovalDescription": "ok", "CustomerMetadataProperties": {"a": "b"}}),
            // one version, then none (delete_model empties the group first)
            "ListModelPackages" if lists.fetch_add(1, Ordering::SeqCst) == 0 => json!({
                "ModelPackageSummaryList": [{"ModelPackageArn": format!("{}/1", GROUP_ARN.replace("-group", "")),
                  "ModelPackageVersion": 1, "CreationTime": 1.0, "ModelPackageStatus": "Completed"}]}),
            "ListModelPackages" => json!({"ModelPackageSummaryList": []}),
            "ListTags" => json!({"Tags": []}),
            _ => json!({}),
        };
        MockResponse::json(200, body.to_string())
    });
}

#[tokio::test]
async fn requests_moto_cannot_serve_match_the_api_model() {
    let model: Value = serde_json::from_str(&std::fs::read_to_string(MODEL).unwrap()).unwrap();
    let server = MockServer::start().await;
    fake(&server);
    let reg = SageMakerRegistry::builder()
        .with_region("us-east-1")
        .with_endpoint(server.url("/"))
        .with_static_credentials("AKIDCONTRACT", "contract-secret-value")
        .with_artifact_url("memory://")
        .with_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7")
        .with_retry(RetryConfig::default().with_max_retries(0))
        .build()
        .unwrap();
    assert!(reg.capabilities().delete_versions && reg.capabilities().delete_models);
    let m = "churn".parse().unwrap();
    reg.delete_version(&m, 1).await.unwrap();
    reg.delete_model(&m).await.unwrap();
    reg.set_approval(&m, 1, ApprovalStatus::Rejected, "drift")
        .await
        .unwrap();
    reg.update_model(
        &m,
        ModelUpdate::default()
            .description("d")
            .set_tag("team", "risk")
            .remove_tag("old"),
    )
    .await
    .unwrap();
    // a version body at the limits: 80 tags, long and JSON-ish values
    let mut meta = std::collections::BTreeMap::new();
    meta.insert(
        "mlops:record".to_string(),
        format!("blake3:{}", "0".repeat(64)),
    );
    let create = reg.create_package_body(&m, Some(&"d".repeat(2000)), &meta, "s3://b/p/");
    let mut errors = validate_op(&model, "CreateModelPackage", &create);

    let reqs = server.requests();
    let mut seen = vec![];
    for r in &reqs {
        let op = r
            .header("x-amz-target")
            .unwrap()
            .trim_start_matches("SageMaker.")
            .to_string();
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/");
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.1"));
        let auth = r.header("authorization").unwrap();
        assert!(auth.contains("/us-east-1/sagemaker/aws4_request"), "{auth}");
        assert!(
            auth.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"),
            "{auth}"
        );
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        errors.extend(validate_op(&model, &op, &body));
        if op == "UpdateModelPackage" {
            // the full state is sent: approval, reason and metadata together
            assert_eq!(body["ModelApprovalStatus"], "Rejected");
            assert_eq!(body["CustomerMetadataProperties"]["a"], "b");
        }
        seen.push(op);
    }
    assert!(errors.is_empty(), "{errors:#?}");
    for op in [
        "DeleteModelPackage",
        "DeleteModelPackageGroup",
        "UpdateModelPackage",
        "AddTags",
        "DeleteTags",
    ] {
        assert!(seen.iter().any(|s| s == op), "{op} not sent: {seen:?}");
    }
    // every gap moto has is either covered above or documented as a moto quirk
    assert_eq!(MOTO_GAPS.len(), 6);
}

#[tokio::test]
async fn throttling_is_retried_and_errors_are_mapped() {
    let server = MockServer::start().await;
    server.push(MockResponse::json(
        400,
        r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
    ));
    server.push(MockResponse::json(
        400,
        r#"{"__type":"ValidationException","Message":"ModelPackageGroup arn:x does not exist."}"#,
    ));
    server.push(MockResponse::json(
        400,
        r#"{"__type":"ConflictException","message":"busy"}"#,
    ));
    let reg = SageMakerRegistry::builder()
        .with_region("us-east-1")
        .with_endpoint(server.url("/"))
        .with_static_credentials("AKIDCONTRACT", "contract-secret-value")
        .with_artifact_url("memory://")
        .build()
        .unwrap();
    let m = "churn".parse().unwrap();
    let e = reg.get_model(&m).await.unwrap_err();
    assert_eq!(e.to_string(), "registered model not found: churn");
    assert_eq!(server.requests().len(), 2, "the throttled call was retried");
    let e = reg
        .client()
        .call::<Value>("DeleteModelPackage", &json!({"ModelPackageName": "x"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), mlops_core::ErrorKind::Conflict);
    assert!(e.to_string().contains("ConflictException: busy"), "{e}");
    assert!(!e.to_string().contains("contract-secret-value"));
}
