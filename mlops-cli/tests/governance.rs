//! `mlops audit ...` and `mlops policy ...` as a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::{json, mlops, run};

fn setup(dir: &std::path::Path) {
    std::fs::write(dir.join("m.pkl"), b"w").unwrap();
    run(
        dir,
        &[
            "--as",
            "service:ci",
            "models",
            "register",
            "fraud",
            "--artifact",
            "m.pkl",
        ],
        0,
    );
    run(
        dir,
        &[
            "--as",
            "service:ci",
            "models",
            "request",
            "fraud",
            "--version",
            "1",
            "--env",
            "development",
        ],
        0,
    );
    run(
        dir,
        &[
            "--as",
            "user:dana",
            "models",
            "promote",
            "fraud",
            "--version",
            "1",
            "--request",
            "1",
        ],
        0,
    );
}

#[test]
fn audit_verify_query_export() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let v = json(dir, &["audit", "verify"]);
    assert_eq!(v["clean"], true);
    assert_eq!(v["records"], 3);
    assert_eq!(v["head"], 3);

    let all = json(dir, &["audit", "query"]);
    let who: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["principal"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["ci", "ci", "dana"]);
    let promos = json(
        dir,
        &[
            "audit",
            "query",
            "--action",
            "promote",
            "--resource",
            "model:fr*@development",
        ],
    );
    assert_eq!(promos.as_array().unwrap().len(), 1);
    assert_eq!(promos[0]["principal"], "dana");
    assert_eq!(promos[0]["details"]["promote"], "v1");
    assert_eq!(
        json(dir, &["audit", "query", "--principal", "nobody"]),
        serde_json::json!([])
    );
    let (t, _) = run(dir, &["audit", "query", "--principal", "dana"], 0);
    assert!(
        t.contains("promote") && t.contains("model:fraud@development"),
        "{t}"
    );

    let out = dir.join("audit.jsonl");
    let e = json(dir, &["audit", "export", "--out", out.to_str().unwrap()]);
    assert_eq!(e["records"], 3);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["prev_hash"], lines[1]["hash"]);

    // bad input
    let (_, e) = run(dir, &["audit", "query", "--action", "fly"], 2);
    assert!(e.contains("\"fly\"") && e.contains("hint:"), "{e}");
    let (_, e) = run(dir, &["audit", "query", "--resource", "::"], 2);
    assert!(e.contains("hint:"), "{e}");

    // tampering: change one stored record → exit 1
    let segs = dir.join(".mlops/development/audit/log/segments");
    let first = std::fs::read_dir(&segs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let text = std::fs::read_to_string(&first).unwrap();
    assert!(text.contains("\"ci\""));
    std::fs::write(&first, text.replacen("\"ci\"", "\"cj\"", 1)).unwrap();
    let (so, _) = run(dir, &["audit", "verify"], 1);
    assert!(so.contains("BROKEN at segment 1 record 0"), "{so}");
}

#[test]
fn policy_check_explain() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    std::fs::write(
        dir.join("policy.toml"),
        "[[roles]]\nname = \"releaser\"\nallow = [{ actions = [\"promote\"], resources = [\"model:*@production\"] }]\n[[bindings]]\nrole = \"releaser\"\nprincipals = [\"dana\"]\n",
    )
    .unwrap();
    let q = |who: &str, sub: &str| -> Vec<String> {
        [
            "--as",
            who,
            "policy",
            sub,
            "--policy",
            "policy.toml",
            "promote",
            "model:fraud@production",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let args = q("user:dana", "check");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = json(dir, &a);
    assert_eq!(v["allowed"], true);
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("releaser via binding #1"),
        "{v}"
    );
    let args = q("user:lee", "check");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (so, _) = run(dir, &a, 1);
    assert!(so.contains("denied: default deny"), "{so}");
    let args = q("user:lee", "explain");
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let (so, _) = run(dir, &a, 0);
    assert!(so.starts_with("denied"), "{so}");
    // MLOPS_POLICY and MLOPS_PRINCIPAL
    let out = mlops(dir)
        .env("MLOPS_POLICY", "policy.toml")
        .env("MLOPS_PRINCIPAL", "user:dana")
        .args(["policy", "check", "promote", "model:x@production"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let (_, e) = run(
        dir,
        &[
            "policy",
            "check",
            "--policy",
            "policy.toml",
            "promote",
            "model:x",
        ],
        2,
    );
    assert!(e.contains("--as"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "--as",
            "user:a",
            "policy",
            "check",
            "--policy",
            "nope.toml",
            "read",
            "model:x",
        ],
        2,
    );
    assert!(e.contains("nope.toml") && e.contains("hint:"), "{e}");
    let (_, e) = run(
        dir,
        &[
            "--as",
            "user:a",
            "policy",
            "check",
            "--policy",
            "policy.toml",
            "fly",
            "model:x",
        ],
        2,
    );
    assert!(e.contains("\"fly\""), "{e}");
    let (_, e) = run(
        dir,
        &[
            "--as",
            "user:a",
            "policy",
            "check",
            "--policy",
            "policy.toml",
            "read",
            "nokind",
        ],
        2,
    );
    assert!(e.contains("nokind") && e.contains("hint:"), "{e}");

    for sub in [
        ["audit", "verify"],
        ["audit", "query"],
        ["audit", "export"],
        ["policy", "check"],
        ["policy", "explain"],
    ] {
        let (so, _) = run(dir, &[sub[0], sub[1], "--help"], 0);
        assert!(so.contains("Example"), "{sub:?}: {so}");
    }
}
