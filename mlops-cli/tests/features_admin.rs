//! `mlops features apply|plan|materialize|online` as a process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

const DAY: i64 = 86_400_000_000;

/// driver 1: conv_rate 0.1 (day 0), 0.5 (day 1); driver 2: 0.7 (day 0).
fn setup(dir: &Path) -> (String, String) {
    let id: ArrayRef = Arc::new(Int64Array::from(vec![1, 1, 2]));
    let ts: ArrayRef =
        Arc::new(TimestampMicrosecondArray::from(vec![0, DAY, 0]).with_timezone("UTC"));
    let rate: ArrayRef = Arc::new(Float64Array::from(vec![0.1, 0.5, 0.7]));
    let b = RecordBatch::try_from_iter([
        ("driver_id", id),
        ("event_timestamp", ts),
        ("conv_rate", rate),
    ])
    .unwrap();
    let src = dir.join("stats.parquet");
    std::fs::write(&src, mlops_monitor::io::write_parquet_bytes(&b).unwrap()).unwrap();
    let yaml = format!(
        r#"
entities:
  - name: driver
    join_keys: [{{name: driver_id, type: int64}}]
feature_views:
  - name: driver_stats
    entities: [driver]
    features: [{{name: conv_rate, type: float64}}]
    source: {{url: "file://{}"}}
"#,
        src.display()
    );
    let repo = dir.join("features.yaml");
    std::fs::write(&repo, yaml).unwrap();
    std::fs::create_dir_all(dir.join("store")).unwrap();
    (
        repo.display().to_string(),
        format!("file://{}", dir.join("store").display()),
    )
}

fn mlops() -> Command {
    Command::cargo_bin("mlops").unwrap()
}

fn json_out(a: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).to_string()
}

#[test]
fn plan_apply_materialize_online() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, store) = setup(dir.path());
    let online = dir.path().join("online.redb");
    let online = online.to_str().unwrap();

    let a = mlops()
        .args([
            "--json", "features", "plan", "--repo", &repo, "--store", &store,
        ])
        .assert()
        .success();
    let v = json_out(&a);
    assert_eq!(v["applied"], false);
    assert_eq!(v["version"], Value::Null);
    assert_eq!(v["diff"]["added"].as_array().unwrap().len(), 2, "{v}");

    let a = mlops()
        .args([
            "--json", "features", "apply", "--repo", &repo, "--store", &store,
        ])
        .assert()
        .success();
    let v = json_out(&a);
    assert_eq!(v["version"], 1, "{v}");
    let a = mlops()
        .args(["features", "apply", "--repo", &repo, "--store", &store])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        out.contains("no changes") && out.contains("version 1"),
        "{out}"
    );

    let a = mlops()
        .args([
            "--json",
            "features",
            "materialize",
            "--store",
            &store,
            "--online",
            online,
        ])
        .args(["--views", "driver_stats", "--end", "1970-01-03T00:00:00Z"])
        .assert()
        .success();
    let v = json_out(&a);
    assert_eq!(v[0]["view"], "driver_stats");
    assert_eq!(v[0]["rows"], 2, "{v}");

    let a = mlops()
        .args([
            "--json", "features", "online", "--store", &store, "--online", online,
        ])
        .args([
            "--entity",
            "driver_id=1",
            "--features",
            "driver_stats:conv_rate",
        ])
        .assert()
        .success();
    let v = json_out(&a);
    assert_eq!(v, json!({"driver_id": 1, "conv_rate": 0.5}));
}

#[test]
fn bad_inputs_exit_2_naming_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, store) = setup(dir.path());
    let online = dir.path().join("online.redb");
    let online = online.to_str().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "entities: 3").unwrap();
    let a = mlops()
        .args(["features", "apply", "--store", &store, "--repo"])
        .arg(&bad)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("bad.yaml"), "{}", stderr(&a));
    let a = mlops()
        .args(["features", "plan", "--repo", &repo, "--store", "nope://x"])
        .assert()
        .code(2);
    assert!(stderr(&a).contains("nope://x"), "{}", stderr(&a));

    mlops()
        .args(["features", "apply", "--repo", &repo, "--store", &store])
        .assert()
        .success();
    let a = mlops()
        .args([
            "features",
            "materialize",
            "--store",
            &store,
            "--online",
            online,
        ])
        .args(["--views", "driver_stats", "--end", "yesterday"])
        .assert()
        .code(2);
    assert!(stderr(&a).contains("yesterday"), "{}", stderr(&a));
    let a = mlops()
        .args(["features", "online", "--store", &store, "--online", online])
        .args([
            "--entity",
            "driver_id=abc",
            "--features",
            "driver_stats:conv_rate",
        ])
        .assert()
        .code(2);
    assert!(stderr(&a).contains("abc"), "{}", stderr(&a));
    let a = mlops()
        .args(["features", "online", "--store", &store, "--online", online])
        .args([
            "--entity",
            "rider=1",
            "--features",
            "driver_stats:conv_rate",
        ])
        .assert()
        .code(2);
    assert!(stderr(&a).contains("rider"), "{}", stderr(&a));
}

#[test]
fn help_has_examples() {
    for sub in ["apply", "plan", "materialize", "online"] {
        let a = mlops().args(["features", sub, "--help"]).assert().success();
        let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert!(
            out.contains("Example") && out.contains(&format!("features {sub} ")),
            "{sub}: {out}"
        );
    }
}

/// `mlops` in `dir` without the caller's profile settings.
fn mlops_in(dir: &Path) -> Command {
    let mut c = mlops();
    c.current_dir(dir)
        .env_remove("MLOPS_CONFIG")
        .env_remove("MLOPS_PROFILE");
    c
}

#[test]
fn redis_online_store_from_profile_and_flag() {
    let Some(redis) = mlops_core::testkit::server("MLOPS_TEST_REDIS_URL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (repo, store) = setup(dir.path());
    let ns = mlops_core::testkit::namespace();
    mlops_in(dir.path())
        .args(["features", "apply", "--repo", &repo, "--store", &store])
        .assert()
        .success();
    // the profile names both stores; the online one is Redis
    std::fs::write(
        dir.path().join("mlops.toml"),
        format!(
            "[environments.dev]\nfeature_offline = \"{store}\"\nfeature_online = \"{redis}\"\n"
        ),
    )
    .unwrap();
    let a = mlops_in(dir.path())
        .args(["--json", "features", "materialize", "--online-prefix", &ns])
        .args(["--views", "driver_stats", "--end", "1970-01-03T00:00:00Z"])
        .assert()
        .success();
    let v = json_out(&a);
    assert_eq!(
        v,
        json!([{"view": "driver_stats", "rows": 2, "watermark": "1970-01-03T00:00:00+00:00"}])
    );
    // nothing went to a local file
    assert!(!dir.path().join("online.redb").exists());

    let read = |prefix: &str, id: &str| {
        let a = mlops_in(dir.path())
            .args(["--json", "features", "online", "--online", &redis])
            .args(["--online-prefix", prefix, "--store", &store])
            .args([
                "--entity",
                &format!("driver_id={id}"),
                "--features",
                "driver_stats:conv_rate",
            ])
            .assert()
            .success();
        json_out(&a)
    };
    assert_eq!(read(&ns, "1"), json!({"driver_id": 1, "conv_rate": 0.5}));
    assert_eq!(read(&ns, "2"), json!({"driver_id": 2, "conv_rate": 0.7}));
    // another prefix is another store: the entity is unknown there
    assert_eq!(read(&format!("{ns}-other"), "1"), json!({"driver_id": 1}));
    // the profile's Redis store also serves `online` without flags
    let a = mlops_in(dir.path())
        .args(["features", "online", "--online-prefix", &ns])
        .args([
            "--entity",
            "driver_id=2",
            "--features",
            "driver_stats:conv_rate",
        ])
        .assert()
        .success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        out.starts_with("name") && out.contains("conv_rate  0.7"),
        "{out}"
    );
}

#[test]
fn online_store_bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (repo, store) = setup(dir.path());
    mlops_in(dir.path())
        .args(["features", "apply", "--repo", &repo, "--store", &store])
        .assert()
        .success();
    let args = [
        "--entity",
        "driver_id=1",
        "--features",
        "driver_stats:conv_rate",
    ];
    // a Redis server that is not there: exit 2, the hint names the store
    let a = mlops_in(dir.path())
        .args([
            "features",
            "online",
            "--store",
            &store,
            "--online",
            "redis://127.0.0.1:9",
        ])
        .args(args)
        .assert()
        .code(2);
    let e = stderr(&a);
    assert!(e.contains("127.0.0.1:9") && e.contains("hint:"), "{e}");
    // a prefix only means something for Redis
    let a = mlops_in(dir.path())
        .args([
            "features", "online", "--store", &store, "--online", "x.redb",
        ])
        .args(["--online-prefix", "p"])
        .args(args)
        .assert()
        .code(2);
    assert!(stderr(&a).contains("--online-prefix"), "{}", stderr(&a));
    // a profile without `feature_online` and no --online: exit 2 naming the key
    std::fs::write(
        dir.path().join("mlops.toml"),
        format!("[environments.dev]\nfeature_offline = \"{store}\"\n"),
    )
    .unwrap();
    let a = mlops_in(dir.path())
        .args(["features", "online"])
        .args(args)
        .assert()
        .code(2);
    let e = stderr(&a);
    assert!(
        e.contains("feature_online") && e.contains("--online"),
        "{e}"
    );
    // a profile directory as online store: a redb file inside it
    std::fs::write(
        dir.path().join("mlops.toml"),
        format!("[environments.dev]\nfeature_offline = \"{store}\"\nfeature_online = \"file://./online\"\n"),
    )
    .unwrap();
    mlops_in(dir.path())
        .args([
            "features",
            "materialize",
            "--views",
            "driver_stats",
            "--end",
            "1970-01-03T00:00:00Z",
        ])
        .assert()
        .success();
    assert!(dir.path().join("online/online.redb").is_file());
}
