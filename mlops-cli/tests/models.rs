//! `mlops models ...` as a process: each subcommand's happy path and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{json, mlops, run};
use std::path::Path;

fn register(dir: &Path, metric: &str) -> u64 {
    std::fs::write(dir.join("model.pkl"), b"weights").unwrap();
    let v = json(
        dir,
        &[
            "--as",
            "service:ci",
            "models",
            "register",
            "fraud",
            "--artifact",
            "model.pkl",
            "--metric",
            metric,
            "--model-format",
            "sklearn",
        ],
    );
    assert_eq!(v["model"], "fraud");
    assert!(
        v["manifest_digest"]
            .as_str()
            .unwrap()
            .starts_with("blake3:")
    );
    v["version"].as_u64().unwrap()
}

#[test]
fn register_list_show() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    assert_eq!(json(dir, &["models", "list"]), serde_json::json!([]));
    assert_eq!(register(dir, "auc=0.9"), 1);
    assert_eq!(register(dir, "auc=0.95"), 2);
    // -q prints just the version
    let (so, _) = run(
        dir,
        &[
            "-q",
            "models",
            "register",
            "fraud",
            "--artifact",
            "model.pkl=weights.bin",
        ],
        0,
    );
    assert_eq!(so.trim(), "3");

    let list = json(dir, &["models", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "fraud");
    assert_eq!(list[0]["latest_version"], 3);
    let (table, _) = run(dir, &["models", "list"], 0);
    assert!(table.starts_with("model"), "{table}");
    assert!(table.contains("fraud  3"), "{table}");

    let show = json(dir, &["models", "show", "fraud"]);
    let versions = show["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[1]["metrics"]["auc"], 0.95);
    assert_eq!(versions[2]["creator"], "tester");
    let one = json(dir, &["models", "show", "fraud", "--version", "1"]);
    assert_eq!(one["version"]["version"], 1);
    assert_eq!(one["history"], serde_json::json!([]));

    // bad input: exit 2, the bad value named, a hint, no backtrace
    let (_, e) = run(
        dir,
        &["models", "register", "fraud", "--artifact", "nope.pkl"],
        2,
    );
    assert!(e.contains("\"nope.pkl\"") && e.contains("hint:"), "{e}");
    assert!(!e.contains("panicked") && !e.contains("backtrace"), "{e}");
    let (_, e) = run(dir, &["models", "register", "Fraud Detector"], 2);
    assert!(e.contains("Fraud Detector") && e.contains("hint:"), "{e}");
    let (_, e) = run(
        dir,
        &["models", "register", "fraud", "--metric", "auc=high"],
        2,
    );
    assert!(e.contains("\"high\" is not a number"), "{e}");
    let (_, e) = run(dir, &["models", "register", "fraud", "--tag", "novalue"], 2);
    assert!(e.contains("\"novalue\""), "{e}");
    let (_, e) = run(dir, &["models", "show", "ghost"], 2);
    assert!(e.contains("ghost") && e.contains("models list"), "{e}");
    let (_, e) = run(dir, &["models", "show", "fraud", "--version", "9"], 2);
    assert!(e.contains("no version 9"), "{e}");
    let (_, e) = run(dir, &["models", "list", "--bogus"], 2);
    assert!(e.contains("--bogus"), "{e}");
}

#[test]
fn request_gate_approve_promote_reject() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    register(dir, "auc=0.9");
    let ci = ["--as", "service:ci"];
    let req = |env: &str| {
        let mut a = ci.to_vec();
        a.extend(["models", "request", "fraud", "--version", "1", "--env", env]);
        json(dir, &a)
    };
    let r = req("staging");
    assert_eq!(
        (r["request"].as_u64(), r["environment"].as_str()),
        (Some(1), Some("staging"))
    );
    assert_eq!(r["requester"], "ci");
    let (_, e) = run(
        dir,
        &[
            "models",
            "request",
            "fraud",
            "--version",
            "1",
            "--env",
            "prod",
        ],
        2,
    );
    assert!(e.contains("prod") && e.contains("hint:"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "models",
            "request",
            "fraud",
            "--version",
            "7",
            "--env",
            "qa",
        ],
        2,
    );
    assert!(e.contains("no version 7"), "{e}");

    // gates: pass → 0, fail → 1 (attached either way), bad syntax / unknown metric → 2
    let g = json(
        dir,
        &[
            "models",
            "gate",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
            "--metric",
            "auc>=0.85",
        ],
    );
    assert_eq!(g["passed"], true);
    assert_eq!(g["figures"]["auc"], 0.9);
    assert_eq!(g["thresholds"]["auc"]["op"], ">=");
    let (so, _) = run(
        dir,
        &[
            "models",
            "gate",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
            "--check",
            "strict",
            "--metric",
            "auc>0.95",
        ],
        1,
    );
    assert!(
        so.contains("FAILED") && so.contains("auc = 0.9 is not > 0.95"),
        "{so}"
    );
    let (_, e) = run(
        dir,
        &[
            "models",
            "gate",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
            "--metric",
            "auc=>1",
        ],
        2,
    );
    assert!(e.contains("\"auc=>1\""), "{e}");
    let (_, e) = run(
        dir,
        &[
            "models",
            "gate",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
            "--metric",
            "f1>=0.5",
        ],
        2,
    );
    assert!(e.contains("\"f1\"") && e.contains("auc"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "models",
            "gate",
            "fraud",
            "--version",
            "1",
            "--request",
            "5",
            "--metric",
            "auc>=0.5",
        ],
        2,
    );
    assert!(e.contains("request 5 not found"), "{e}");

    // four eyes: the requester may not approve
    let (_, e) = run(
        dir,
        &[
            "--as",
            "service:ci",
            "models",
            "approve",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        2,
    );
    assert!(e.contains("--as"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "--as",
            "robot",
            "models",
            "approve",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        2,
    );
    assert!(e.contains("\"robot\"") && e.contains("user:NAME"), "{e}");
    let a = json(
        dir,
        &[
            "--as",
            "user:dana",
            "models",
            "approve",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
    );
    assert_eq!(a["approvals"], 1);
    assert_eq!(a["approved_by"], "dana");
    // one approval of two and a failed gate: promotion blocked → exit 1
    let (_, e) = run(
        dir,
        &[
            "models",
            "promote",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        1,
    );
    assert!(e.contains("approvals: 1 of 2"), "{e}");
    json(
        dir,
        &[
            "--as",
            "user:lee",
            "models",
            "approve",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
    );
    // with a policy requiring the `strict` gate, its failed report blocks
    std::fs::write(
        dir.join("envs.yaml"),
        "- name: qa\n- name: staging\n  policy: {approvals: 2, required_gates: [strict]}\n",
    )
    .unwrap();
    let (_, e) = run(
        dir,
        &[
            "--environments",
            "envs.yaml",
            "models",
            "promote",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        1,
    );
    assert!(e.contains("gate strict"), "the failed gate blocks: {e}");
    std::fs::write(dir.join("bad.yaml"), "- nom: qa\n").unwrap();
    let (_, e) = run(dir, &["--environments", "bad.yaml", "models", "list"], 0);
    assert!(e.is_empty(), "list does not read environments: {e}");
    let (_, e) = run(
        dir,
        &[
            "--environments",
            "bad.yaml",
            "models",
            "promote",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        2,
    );
    assert!(e.contains("bad.yaml") && e.contains("hint:"), "{e}");

    // the default staging policy requires no gate: two approvals suffice
    let p = json(
        dir,
        &[
            "--as",
            "service:deploy",
            "models",
            "promote",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
    );
    assert_eq!(
        (p["version"].as_u64(), p["environment"].as_str()),
        (Some(1), Some("staging"))
    );
    assert_eq!(p["by"], "deploy");
    let list = json(dir, &["models", "list"]);
    assert_eq!(list[0]["aliases"]["staging"], 1);

    // reject closes a request
    let r = req("qa")["request"].as_u64().unwrap();
    let rs = r.to_string();
    let j = json(
        dir,
        &[
            "--as",
            "user:dana",
            "models",
            "reject",
            "fraud",
            "--version",
            "1",
            "--request",
            &rs,
            "--reason",
            "no",
        ],
    );
    assert_eq!(j["rejected_by"], "dana");
    let (_, e) = run(
        dir,
        &[
            "--as",
            "user:lee",
            "models",
            "approve",
            "fraud",
            "--version",
            "1",
            "--request",
            &rs,
        ],
        2,
    );
    assert!(e.contains("closed"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "models",
            "reject",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        2,
    );
    assert!(e.contains("--reason"), "clap names the missing flag: {e}");

    let hist = json(dir, &["models", "show", "fraud", "--version", "1"]);
    let events: Vec<&str> = hist["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event"]["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.first(), Some(&"requested"));
    assert!(
        events.contains(&"promoted") && events.contains(&"rejected"),
        "{events:?}"
    );
}

#[test]
fn rollback_and_export() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for m in ["auc=0.8", "auc=0.9"] {
        let v = register(dir, m).to_string();
        // development needs no approval
        let r = json(
            dir,
            &[
                "models",
                "request",
                "fraud",
                "--version",
                &v,
                "--env",
                "development",
            ],
        );
        let rs = r["request"].to_string();
        json(
            dir,
            &[
                "models",
                "promote",
                "fraud",
                "--version",
                &v,
                "--request",
                &rs,
            ],
        );
    }
    let (_, e) = run(
        dir,
        &[
            "models", "rollback", "fraud", "--env", "qa", "--reason", "x",
        ],
        2,
    );
    assert!(e.contains("nothing is deployed"), "{e}");
    let out = dir.join("deploy/dev/models.yaml");
    let j = json(
        dir,
        &[
            "models",
            "export-manifest",
            "--env",
            "development",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(j["models"], 1);
    let y: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(y["kind"], "ModelDeployments");
    assert_eq!(y["spec"]["models"][0]["name"], "fraud");
    assert_eq!(y["spec"]["models"][0]["version"], 2);

    let rb = json(
        dir,
        &[
            "models",
            "rollback",
            "fraud",
            "--env",
            "development",
            "--reason",
            "latency",
        ],
    );
    assert_eq!(
        (rb["version"].as_u64(), rb["rollback_from"].as_u64()),
        (Some(1), Some(2))
    );
    let (k, _) = run(
        dir,
        &[
            "models",
            "export-manifest",
            "--env",
            "development",
            "--format",
            "kserve",
        ],
        0,
    );
    let y: serde_yaml_ng::Value = serde_yaml_ng::from_str(&k).unwrap();
    assert_eq!(y["kind"], "InferenceService");
    assert_eq!(y["metadata"]["labels"]["mlops.rs/version"], "1");
    assert_eq!(
        y["spec"]["predictor"]["model"]["modelFormat"]["name"],
        "sklearn"
    );

    let (_, e) = run(dir, &["models", "export-manifest", "--env", "moon"], 2);
    assert!(e.contains("moon"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "models",
            "export-manifest",
            "--env",
            "qa",
            "--format",
            "helm",
        ],
        2,
    );
    assert!(e.contains("helm") && e.contains("kserve"), "{e}");
}

#[test]
fn profiles_and_overrides() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(
        dir.join("mlops.toml"),
        "default_environment = \"ci\"\n[environments.ci]\nroot = \"./state/ci\"\n[environments.qa]\nroot = \"./state/qa\"\n",
    )
    .unwrap();
    register(dir, "auc=0.5");
    assert!(dir.join("state/ci/registry").is_dir());
    assert_eq!(
        json(dir, &["--profile", "qa", "models", "list"]),
        serde_json::json!([])
    );
    let l = mlops(dir)
        .env("MLOPS_PROFILE", "ci")
        .args(["--json", "models", "list"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&l.stdout).unwrap();
    assert_eq!(v[0]["name"], "fraud");
    let (_, e) = run(dir, &["--profile", "staging", "models", "list"], 2);
    assert!(e.contains("staging") && e.contains("ci, qa"), "{e}");
    let (_, e) = run(dir, &["--config", "missing.toml", "models", "list"], 2);
    assert!(e.contains("missing.toml") && e.contains("hint:"), "{e}");
    std::fs::write(
        dir.join("bad.toml"),
        "[environments.qa]\nregistry = \"ftp://x\"\n",
    )
    .unwrap();
    let (_, e) = run(dir, &["--config", "bad.toml", "models", "list"], 2);
    assert!(
        e.contains("environments.qa.registry") && e.contains("line 2"),
        "{e}"
    );

    // --registry-uri wins over the profile
    let other = dir.join("other");
    let url = format!("file://{}", other.display());
    assert_eq!(
        json(dir, &["--registry-uri", &url, "models", "list"]),
        serde_json::json!([])
    );
    let (_, e) = run(
        dir,
        &["--registry-uri", "ftp://nowhere", "models", "list"],
        2,
    );
    assert!(e.contains("ftp://nowhere"), "{e}");
}

#[test]
fn json_logs_and_help() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(dir.join("m.bin"), b"x").unwrap();
    let out = mlops(dir)
        .env("RUST_LOG", "info")
        .args([
            "--log-format",
            "json",
            "models",
            "register",
            "fraud",
            "--artifact",
            "m.bin",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let line = stderr
        .lines()
        .find(|l| l.contains("registered"))
        .expect(&stderr);
    let ev: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(ev["level"], "INFO");
    assert_eq!(ev["fields"]["model"], "fraud");
    assert_eq!(ev["fields"]["version"], 1);

    for sub in [
        "list",
        "show",
        "register",
        "request",
        "gate",
        "approve",
        "reject",
        "promote",
        "rollback",
        "export-manifest",
    ] {
        let (so, _) = run(dir, &["models", sub, "--help"], 0);
        assert!(
            so.contains("Example") && so.contains("mlops"),
            "{sub}: {so}"
        );
    }
    let (so, _) = run(dir, &["--help"], 0);
    assert!(so.contains("Exit codes"), "{so}");
    let (_, e) = run(dir, &[], 2);
    assert!(e.contains("Usage"), "{e}");
}
