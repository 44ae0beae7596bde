//! `mlops features historical` as a process, on the public PIT case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::Command;
use mlops_features::{SourceLocation, read_parquet};

const PIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/pit");

fn base(out: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("mlops").unwrap();
    cmd.args(["features", "historical", "--entity-df"])
        .arg(format!("{PIT}/entity_df.parquet"))
        .arg("--view")
        .arg(format!("fv0={PIT}/fv0.parquet,ttl=21600,join_keys=driver_id,timestamp=event_timestamp,created=created"))
        .arg("--view")
        .arg(format!("fv1={PIT}/fv1.parquet,ttl=172800"))
        .arg("--out")
        .arg(out);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_reproduces_expected() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let done = base(&out)
        .args([
            "--features",
            "fv0:conv_rate,fv0:trips,fv0:tier,fv1:conv_rate,fv1:trips,fv1:tier",
            "--full-feature-names",
        ])
        .assert()
        .success();
    // piped: the progress spinner stays hidden, stderr is just the summary line
    let err = String::from_utf8_lossy(&done.get_output().stderr).to_string();
    assert!(!err.contains('\x1b') && !err.contains('\r'), "{err:?}");
    assert!(err.starts_with("wrote 1000 rows x "), "{err:?}");
    let got = read_parquet(&SourceLocation::from_path(&out).unwrap())
        .await
        .unwrap();
    let exp = read_parquet(
        &SourceLocation::from_path(&std::path::Path::new(PIT).join("expected.parquet")).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(got.num_rows(), 1000);
    assert_eq!(got.schema().fields().len(), exp.schema().fields().len());
    for (i, f) in exp.schema().fields().iter().enumerate() {
        assert_eq!(got.schema().field(i).name(), f.name());
        assert_eq!(got.column(i).data_type(), f.data_type(), "{}", f.name());
        assert_eq!(
            got.column(i).to_data(),
            exp.column(i).to_data(),
            "{}",
            f.name()
        );
    }
}

#[test]
fn bad_input_exits_2_naming_the_bad_value() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.parquet");
    let a = base(&out)
        .args(["--features", "fv0:speed"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("speed"), "{err}");
    let a = base(&out)
        .args(["--features", "fv9:trips"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("fv9"), "{err}");
    assert!(!out.exists(), "nothing is written on error");
}
