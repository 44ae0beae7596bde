//! fairlearn 0.15 oracle cases (`fair_*` in shared/testdata/drift/expected.json).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use mlops_monitor::fairness::{Disparities, fairness, fairness_arrow};
use mlops_monitor::io::read_parquet_file;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/testdata/drift"
    ))
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * b.abs() || (a - b).abs() <= 1e-12
}

fn check(d: &Disparities, w: &Value, case: &str) {
    let got = serde_json::to_value(d).unwrap();
    for (k, v) in w.as_object().unwrap() {
        let (g, e) = (
            got[k].as_f64().unwrap_or(f64::NAN),
            v.as_f64().unwrap_or(f64::NAN),
        );
        assert!(close(g, e), "{case} {k}: {g} vs {e}");
    }
}

#[test]
fn fairlearn_cases() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("expected.json")).unwrap())
            .unwrap();
    let cases = expected["fairness"].as_object().unwrap();
    assert!(cases.len() >= 2);
    for (case, w) in cases {
        let b = read_parquet_file(&root().join(case).join("data.parquet")).unwrap();
        let r = fairness_arrow(
            b.column_by_name("y_true").unwrap().as_ref(),
            b.column_by_name("y_pred").unwrap().as_ref(),
            b.column_by_name("group").unwrap().as_ref(),
        )
        .unwrap();
        for (g, rates) in w["by_group"].as_object().unwrap() {
            let got = &r.by_group[g];
            assert!(
                close(
                    got.selection_rate,
                    rates["selection_rate"].as_f64().unwrap()
                ),
                "{case} {g}"
            );
            assert!(close(got.tpr, rates["tpr"].as_f64().unwrap()), "{case} {g}");
            assert!(close(got.fpr, rates["fpr"].as_f64().unwrap()), "{case} {g}");
            assert_eq!(got.count as f64, rates["count"].as_f64().unwrap());
        }
        assert!(close(r.overall.tpr, w["overall"]["tpr"].as_f64().unwrap()));
        check(&r.between_groups, &w["between_groups"], case);
        check(&r.to_overall, &w["to_overall"], case);
        assert!(r.notes.is_empty());
    }
}

#[test]
fn zero_over_zero_ratios_are_nan_with_a_reason() {
    // nobody is selected: selection rates all 0 -> DPR = 0/0
    let r = fairness(&[1, 0, 1, 0], &[0, 0, 0, 0], &["a", "a", "b", "b"]).unwrap();
    assert!(r.between_groups.demographic_parity_ratio.is_nan());
    assert_eq!(r.between_groups.demographic_parity_difference, 0.0);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("demographic_parity_ratio (between_groups) is NaN"))
    );
    // a group without positives: TPR 0.0, not NaN (sklearn's normalize)
    let r = fairness(&[0, 0, 1, 0], &[1, 0, 1, 0], &["a", "a", "b", "b"]).unwrap();
    assert_eq!(r.by_group["a"].tpr, 0.0);
    assert_eq!(r.between_groups.equal_opportunity_ratio, 0.0);
    assert!(fairness(&[1], &[1, 0], &["a"]).is_err());
}
