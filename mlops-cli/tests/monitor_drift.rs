//! `mlops monitor drift` as a process: JSON, table, and the self-contained HTML report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use common::run;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const TWO_OF_FIVE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/testdata/drift/dataset_two_of_five"
);

fn case(name: &str) -> (String, String) {
    (
        format!("{TWO_OF_FIVE}/reference.parquet"),
        format!("{TWO_OF_FIVE}/{name}.parquet"),
    )
}

/// Every `data-score="..."` value, in document order.
fn data_scores(html: &str) -> Vec<String> {
    html.split("data-score=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}

/// The checks every report must pass: one document, nothing fetched or run.
fn assert_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_eq!(html.matches("<html").count(), 1);
    assert_eq!(html.matches("</html>").count(), 1);
    assert!(html.trim_end().ends_with("</html>"));
    for banned in ["<script", "src=", "http://", "https://", "<link", "@import"] {
        assert!(!html.contains(banned), "{banned} in the report");
    }
}

#[test]
fn html_report_matches_json() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = case("current");
    let base = [
        "monitor",
        "drift",
        "--reference",
        r.as_str(),
        "--current",
        c.as_str(),
    ];
    let (so, _) = run(dir.path(), &[&base[..], &["--format", "json"]].concat(), 0);
    let v: Value = serde_json::from_str(so.trim()).unwrap();
    let cols = v["columns"].as_array().unwrap();
    assert_eq!(cols.len(), 5);
    assert_eq!(v["dataset"]["drifted"], 2);

    let out = dir.path().join("reports/drift.html");
    let out_s = out.to_str().unwrap();
    let (so, _) = run(
        dir.path(),
        &[&base[..], &["--format", "html", "--out", out_s]].concat(),
        0,
    );
    assert_eq!(
        so,
        format!("wrote {out_s}: 2/5 columns drifted -> no drift\n")
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert_self_contained(&html);
    assert_eq!(html.matches("<svg").count(), 5, "one plot per column");
    assert_eq!(html.matches("<section id=\"col-").count(), 5);
    assert!(html.contains("data-drifted=\"2\" data-total=\"5\""));
    // the summary table lists the columns in order, with the JSON's scores
    let scores = data_scores(&html);
    assert_eq!(scores.len(), 10, "summary + section per column");
    for (i, col) in cols.iter().enumerate() {
        let name = col["column"].as_str().unwrap();
        assert!(html.contains(&format!("<h2>{name}</h2>")), "{name}");
        let want = col["score"].as_f64().unwrap();
        for got in [&scores[i], &scores[5 + i]] {
            assert_eq!(got.parse::<f64>().unwrap(), want, "{name}");
        }
        let method = col["method"].as_str().unwrap();
        assert!(html.contains(&format!("<td>{method}")), "{method}");
    }
    // two drifted columns, each in the summary and in its section
    assert_eq!(
        html.matches("<span class=\"drift\">drift</span>").count(),
        4
    );

    // --json with --out: a machine-readable summary on stdout
    let (so, _) = run(
        dir.path(),
        &[
            &["--json"][..],
            &base[..],
            &["--format", "html", "--out", out_s],
        ]
        .concat(),
        0,
    );
    let s: Value = serde_json::from_str(so.trim()).unwrap();
    assert_eq!(s["path"], out_s);
    assert_eq!(
        (s["drifted"].as_u64(), s["drift"].as_bool()),
        (Some(2), Some(false))
    );

    // --out works for the other formats too: the JSON file equals stdout's JSON
    let jf = dir.path().join("d.json");
    run(
        dir.path(),
        &[
            &base[..],
            &["--format", "json", "--out", jf.to_str().unwrap()],
        ]
        .concat(),
        0,
    );
    // the global --json alone means --format json
    let (so, _) = run(dir.path(), &[&["--json"][..], &base[..]].concat(), 0);
    assert_eq!(serde_json::from_str::<Value>(so.trim()).unwrap(), v);
    let (so, _) = run(dir.path(), &base, 0);
    assert!(
        so.starts_with("column ") && so.contains("2/5 columns drifted"),
        "{so}"
    );
    let from_file: Value = serde_json::from_str(&std::fs::read_to_string(&jf).unwrap()).unwrap();
    assert_eq!(from_file, v);
}

fn write(dir: &Path, name: &str, shift: f64, cat: &str) -> PathBuf {
    let x: ArrayRef = Arc::new(Float64Array::from(
        (0..200)
            .map(|i| f64::from(i % 40) + shift)
            .collect::<Vec<_>>(),
    ));
    let c: ArrayRef = Arc::new(StringArray::from(
        (0..200)
            .map(|i| if i % 4 == 0 { cat } else { "plain" })
            .collect::<Vec<_>>(),
    ));
    let b = RecordBatch::try_from_iter([("<script>alert(1)</script>", x), ("a&b\"c", c)]).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, mlops_monitor::io::write_parquet_bytes(&b).unwrap()).unwrap();
    p
}

#[test]
fn html_escapes_column_names_and_categories() {
    let dir = tempfile::tempdir().unwrap();
    let r = write(dir.path(), "r.parquet", 0.0, "<img onerror=x>");
    let c = write(dir.path(), "c.parquet", 25.0, "<img onerror=x>");
    let args = [
        "monitor",
        "drift",
        "--reference",
        r.to_str().unwrap(),
        "--current",
        c.to_str().unwrap(),
        "--format",
        "html",
        "--fail-on-drift",
    ];
    // to stdout; x drifts, the categories do not: share 0.5 -> dataset drift -> exit 1
    let (html, _) = run(dir.path(), &args, 1);
    assert_self_contained(&html);
    assert!(!html.contains("<img"), "category escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("a&amp;b&quot;c"));
    assert!(html.contains("&lt;img onerror=x&gt;"));
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("<span class=\"drift\">drift</span>"));
    assert!(html.contains("share of values per category"));
    assert!(html.contains("share of values per equal-width bin"));
}

#[test]
fn bad_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = case("current");
    let base = [
        "monitor",
        "drift",
        "--reference",
        r.as_str(),
        "--current",
        c.as_str(),
    ];
    let (_, se) = run(dir.path(), &[&base[..], &["--format", "pdf"]].concat(), 2);
    assert!(se.contains("pdf") && se.contains("html"), "{se}");
    // --out under a regular file cannot be created
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    let bad = file.join("r.html");
    let (_, se) = run(
        dir.path(),
        &[
            &base[..],
            &["--format", "html", "--out", bad.to_str().unwrap()],
        ]
        .concat(),
        2,
    );
    assert!(se.contains("cannot create"), "{se}");
    let (_, se) = run(
        dir.path(),
        &[
            "monitor",
            "drift",
            "--reference",
            "missing.parquet",
            "--current",
            c.as_str(),
            "--format",
            "html",
        ],
        2,
    );
    assert!(se.contains("missing.parquet"), "{se}");
    let (so, _) = run(dir.path(), &["monitor", "drift", "--help"], 0);
    assert!(so.contains("--format html --out drift.html"), "{so}");
}
