//! `mlops` against real services: an MLflow server (`MLOPS_TEST_MLFLOW_URI`) as
//! registry and tracker, and SageMaker on moto (`MLOPS_TEST_MOTO_URL`). Vertex AI
//! has no emulator: its configuration errors are checked here, its wire protocol in
//! mlops-registry's tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{mlops, run};
use mlops_core::testkit;
use mlops_tracking::mlflow::MlflowTracker;
use mlops_tracking::{Batch, CreateRun, Metric, Tracker};
use serde_json::Value;
use std::path::Path;

/// Runs `cmd` with `--json`, expects exit 0, parses stdout.
fn json_of(mut cmd: assert_cmd::Command, args: &[&str]) -> Value {
    let out = cmd.arg("--json").args(args).output().unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{args:?}\n{so}\n{se}");
    serde_json::from_str(so.trim()).unwrap_or_else(|e| panic!("{e}: {so}"))
}

fn model_names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlflow_registry_and_tracking() {
    let Some(uri) = testkit::server("MLOPS_TEST_MLFLOW_URI") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let ns = testkit::namespace();
    let model = format!("{ns}-fraud");
    std::fs::write(dir.join("model.pkl"), b"pickled weights").unwrap();

    // the profile names the MLflow server for the registry and tracking
    std::fs::write(
        dir.join("mlops.toml"),
        format!(
            "[environments.dev]\ntracking = \"{uri}\"\nregistry = \"{uri}\"\naudit = \"file://./audit\"\n"
        ),
    )
    .unwrap();
    let reg = json_of(
        mlops(dir),
        &[
            "--as",
            "service:ci",
            "models",
            "register",
            &model,
            "--artifact",
            "model.pkl",
            "--metric",
            "auc=0.91",
            "--tag",
            "git_sha=abc123",
        ],
    );
    assert_eq!(reg["version"], 1, "{reg}");
    assert!(reg["artifact_uri"].as_str().unwrap().len() > 1, "{reg}");
    let list = json_of(mlops(dir), &["models", "list"]);
    assert!(model_names(&list).contains(&model), "{list}");
    let show = json_of(mlops(dir), &["models", "show", &model]);
    assert_eq!(show["model"]["name"], model.as_str());
    assert_eq!(show["versions"][0]["metrics"]["auc"], 0.91);
    assert_eq!(show["versions"][0]["tags"]["git_sha"], "abc123");
    // the audit event landed in the profile's audit store
    assert!(dir.join("audit").exists());

    // --registry-uri with the mlflow:// shorthand, no profile entry needed
    let host = uri.trim_start_matches("http://");
    let flag = format!("mlflow://{host}");
    let v = json_of(
        mlops(dir),
        &[
            "--registry-uri",
            &flag,
            "models",
            "register",
            &model,
            "--artifact",
            "model.pkl",
        ],
    );
    assert_eq!(v["version"], 2);
    let one = json_of(
        mlops(dir),
        &[
            "--registry-uri",
            &flag,
            "models",
            "show",
            &model,
            "--version",
            "2",
        ],
    );
    assert_eq!(one["version"]["version"], 2);
    let (text, _) = run(dir, &["--registry-uri", &flag, "models", "list"], 0);
    assert!(text.starts_with("model") && text.contains(&model), "{text}");

    // runs on the server, read through MLFLOW_TRACKING_URI (overriding the profile)
    let t = MlflowTracker::builder().with_url(&uri).build().unwrap();
    let exp_name = format!("{ns}-exp");
    let exp = t.create_experiment(&exp_name, &[]).await.unwrap();
    let mut ids = vec![];
    for (name, auc) in [("low", 0.7), ("high", 0.93)] {
        let r = t
            .create_run(&CreateRun::new(&exp).with_name(name))
            .await
            .unwrap();
        t.log_batch(
            r.id(),
            &Batch::new()
                .param("lr", "0.01")
                .metric(Metric::new("auc", auc, 0)),
        )
        .await
        .unwrap();
        ids.push(r.id().to_string());
    }
    let mut env_cmd = mlops(dir);
    env_cmd.env("MLFLOW_TRACKING_URI", &uri);
    let runs = json_of(
        env_cmd,
        &[
            "runs",
            "list",
            "--experiment",
            &exp_name,
            "--order-by",
            "metrics.auc DESC",
        ],
    );
    let names: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["info"]["run_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["high", "low"]);
    let show = json_of(mlops(dir), &["runs", "show", &ids[1]]);
    assert_eq!(show["data"]["metrics"]["auc"]["value"], 0.93);
    let exps = json_of(
        mlops(dir),
        &[
            "experiments",
            "list",
            "--filter",
            &format!("name = '{exp_name}'"),
        ],
    );
    assert_eq!(exps.as_array().unwrap().len(), 1);

    // bad input names the value
    let missing = format!("{ns}-nope");
    let (_, e) = run(dir, &["models", "show", &missing], 2);
    assert!(e.contains(&missing) && e.contains("hint:"), "{e}");
    let (_, e) = run(dir, &["runs", "list", "--experiment", &missing], 2);
    assert!(e.contains(&missing), "{e}");
    let (_, e) = run(dir, &["--registry-uri", "ftp://x", "models", "list"], 2);
    assert!(e.contains("ftp://x") && e.contains("sagemaker://"), "{e}");
}

/// The variables SageMaker on moto needs (credentials, endpoints, artifact bucket).
fn sagemaker_env(cmd: &mut assert_cmd::Command, moto: &str, home: &Path, artifacts: Option<&str>) {
    for var in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "MLOPS_SAGEMAKER_ROLE_ARN",
        "MLOPS_SAGEMAKER_ARTIFACTS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing-secret")
        .env("AWS_REGION", "us-east-1")
        .env("MLOPS_SAGEMAKER_ENDPOINT", moto)
        .env("AWS_ENDPOINT_URL", moto)
        .env("AWS_ALLOW_HTTP", "true")
        .env(
            "MLOPS_SAGEMAKER_IMAGE",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1.7",
        );
    if let Some(a) = artifacts {
        cmd.env("MLOPS_SAGEMAKER_ARTIFACTS", a);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sagemaker_on_moto() {
    let Some(moto) = testkit::server("MLOPS_TEST_MOTO_URL") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let ns = testkit::namespace();
    let bucket = format!("cli-{}", &ns[2..22]);
    testkit::moto_bucket(&moto, &bucket).await.unwrap();
    let artifacts = format!("s3://{bucket}/models");
    std::fs::write(dir.join("model.bin"), vec![7u8; 4096]).unwrap();
    let model = format!("{ns}-churn");
    let sm = |args: &[&str]| {
        let mut c = mlops(dir);
        sagemaker_env(&mut c, &moto, dir, Some(&artifacts));
        let mut a = vec!["--registry-uri", "sagemaker://us-east-1"];
        a.extend_from_slice(args);
        json_of(c, &a)
    };
    let v = sm(&[
        "--as",
        "service:ci",
        "models",
        "register",
        &model,
        "--artifact",
        "model.bin",
        "--metric",
        "auc=0.88",
    ]);
    assert_eq!(v["version"], 1, "{v}");
    let v = sm(&["models", "register", &model, "--artifact", "model.bin"]);
    assert_eq!(v["version"], 2, "{v}");
    assert!(model_names(&sm(&["models", "list"])).contains(&model));
    let show = sm(&["models", "show", &model]);
    let versions: Vec<u64> = show["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2]);
    assert_eq!(show["versions"][0]["metrics"]["auc"], 0.88);
    assert_eq!(show["versions"][0]["creator"], "ci");

    // the profile names the registry and an AWS profile for SageMaker's calls (the S3
    // artifact store keeps reading AWS_* itself)
    std::fs::create_dir_all(dir.join(".aws")).unwrap();
    std::fs::write(
        dir.join(".aws/credentials"),
        "[moto]\naws_access_key_id = testing\naws_secret_access_key = testing-secret\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("mlops.toml"),
        "[environments.prod]\nregistry = \"sagemaker://us-east-1\"\naudit = \"file://./audit\"\n\
         credentials = { source = \"aws_profile\", profile = \"moto\" }\n",
    )
    .unwrap();
    let mut c = mlops(dir);
    sagemaker_env(&mut c, &moto, dir, Some(&artifacts));
    let v = json_of(c, &["models", "show", &model, "--version", "2"]);
    assert_eq!(v["version"]["version"], 2, "{v}");
    // the profile's AWS profile is really used: an unknown one is an input error
    let toml = std::fs::read_to_string(dir.join("mlops.toml")).unwrap();
    std::fs::write(
        dir.join("mlops.toml"),
        toml.replace("profile = \"moto\"", "profile = \"nope\""),
    )
    .unwrap();
    let mut c = mlops(dir);
    sagemaker_env(&mut c, &moto, dir, Some(&artifacts));
    let out = c.args(["models", "list"]).output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("nope"), "{e}");

    // no artifact location: exit 2 naming the variable
    let mut c = mlops(dir);
    sagemaker_env(&mut c, &moto, dir, None);
    let out = c
        .args(["--registry-uri", "sagemaker://us-east-1", "models", "list"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("MLOPS_SAGEMAKER_ARTIFACTS"), "{e}");
}

#[test]
fn vertex_and_sagemaker_configuration_errors() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (_, e) = run(
        dir,
        &["--registry-uri", "vertex://acme", "models", "list"],
        2,
    );
    assert!(
        e.contains("vertex://acme") && e.contains("PROJECT/LOCATION"),
        "{e}"
    );
    // a well-formed Vertex URL without the image / artifacts: exit 2 with the fix
    let out = mlops(dir)
        .env_remove("MLOPS_VERTEX_IMAGE")
        .env_remove("MLOPS_VERTEX_ARTIFACTS")
        .env_remove("GOOGLE_APPLICATION_CREDENTIALS")
        .args([
            "--registry-uri",
            "vertex://acme/europe-west4",
            "models",
            "list",
        ])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("MLOPS_VERTEX_IMAGE"), "{e}");
    // SageMaker without credentials
    let out = mlops(dir)
        .env("HOME", dir)
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("MLOPS_SAGEMAKER_ARTIFACTS", "memory://")
        .args(["--registry-uri", "sagemaker://eu-west-1", "models", "list"])
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
}
