//! Monitoring quickstart: a drift report and a fairness report on small generated data, turned
//! into promotion gate reports.

#![allow(clippy::print_stdout)] // the quickstart prints its reports

use arrow::array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use mlops_core::GateReport;
use mlops_monitor::fairness::fairness;
use mlops_monitor::performance::classification;
use mlops_monitor::suite::{Evidence, MetricThreshold, NoFeatureDrift, ValidationSuite};
use mlops_monitor::{ColumnOutcome, DatasetSpec, dataset_drift};
use std::sync::Arc;

/// A small deterministic generator (no RNG dependency): uniform in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately normal (sum of 12 uniforms).
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..12).map(|_| self.next()).sum();
        mean + sd * (s - 6.0)
    }
}

fn batch(rng: &mut Lcg, n: usize, shift: f64) -> Result<RecordBatch, arrow::error::ArrowError> {
    let amount: ArrayRef = Arc::new(Float64Array::from(
        (0..n)
            .map(|_| rng.normal(100.0 + shift, 15.0))
            .collect::<Vec<_>>(),
    ));
    let age: ArrayRef = Arc::new(Float64Array::from(
        (0..n).map(|_| rng.normal(40.0, 10.0)).collect::<Vec<_>>(),
    ));
    let channel: ArrayRef = Arc::new(StringArray::from(
        (0..n)
            .map(|_| if rng.next() < 0.7 { "web" } else { "store" })
            .collect::<Vec<_>>(),
    ));
    RecordBatch::try_from_iter([("amount", amount), ("age", age), ("channel", channel)])
}

fn print_drift(title: &str, drift: &mlops_monitor::DatasetDrift) {
    println!(
        "drift report, {title} ({}/{} columns drifted):",
        drift.drifted, drift.total
    );
    for c in &drift.columns {
        match c {
            ColumnOutcome::Tested(d) => println!(
                "  {:<8} {:<13} score {:.4} {} {} -> {}",
                d.column,
                d.method,
                d.score,
                d.operator,
                d.threshold,
                if d.drift { "DRIFT" } else { "ok" }
            ),
            ColumnOutcome::Failed { column, error } => println!("  {column}: {error}"),
        }
    }
}

/// Computes drift reports and a fairness report, prints them, and returns the gate reports
/// promotion consumes: "no feature drifted", "AUC ≥ 0.8", "disparate impact ≥ 0.8".
///
/// Two drift reports: a shifted production batch (`amount` moved by 0.4 sd), which the
/// monitor flags, and the candidate's validation batch against its training data, which
/// feeds the promotion gate.
///
/// # Errors
/// Only on internal data-construction failures.
pub fn demo() -> Result<Vec<GateReport>, Box<dyn std::error::Error + Send + Sync>> {
    let mut rng = Lcg(42);
    let reference = batch(&mut rng, 2000, 0.0)?;
    let production = batch(&mut rng, 1500, 6.0)?;
    let shifted = dataset_drift(&reference, &production, &DatasetSpec::default())?;
    print_drift("production batch vs training data", &shifted);
    let validation = batch(&mut rng, 1500, 0.0)?;
    let drift = dataset_drift(&reference, &validation, &DatasetSpec::default())?;
    print_drift("validation batch vs training data", &drift);

    // a scored classifier and a sensitive attribute
    let n = 1000;
    let (mut y_true, mut y_pred, mut scores, mut group) = (vec![], vec![], vec![], vec![]);
    for i in 0..n {
        let g = if i % 3 == 0 { "f" } else { "m" };
        let y = i64::from(rng.next() < 0.4);
        let s = (0.25 + 0.5 * y as f64 + 0.3 * (rng.next() - 0.5)).clamp(0.0, 1.0);
        let bias = if g == "f" { -0.05 } else { 0.0 };
        y_true.push(y);
        y_pred.push(i64::from(s + bias >= 0.5));
        scores.push(s);
        group.push(g);
    }
    let fair = fairness(&y_true, &y_pred, &group)?;
    println!("fairness report:");
    for (g, r) in &fair.by_group {
        println!(
            "  group {g}: selection {:.3} TPR {:.3} FPR {:.3} (n={})",
            r.selection_rate, r.tpr, r.fpr, r.count
        );
    }
    println!(
        "  disparate impact {:.3}, equalized odds difference {:.3}",
        fair.between_groups.demographic_parity_ratio,
        fair.between_groups.equalized_odds_difference_worst_case
    );
    let perf = classification(&y_true, &y_pred, Some(&scores))?;

    let evidence = Evidence {
        drift: Some(drift),
        fairness: Some(fair),
        classification: Some(perf),
        ..Evidence::default()
    };
    let suite = ValidationSuite::new()
        .with(NoFeatureDrift { max_drifted: 0 })
        .with(MetricThreshold::auc_at_least(0.8))
        .with(MetricThreshold::disparate_impact_at_least(0.8));
    let reports = suite.run(&evidence);
    println!("gates:");
    for r in &reports {
        println!(
            "  {:<18} {}  {}",
            r.check,
            if r.passed { "PASS" } else { "FAIL" },
            r.details.as_deref().unwrap_or("")
        );
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_produces_three_gates() {
        let r = super::demo().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].check, "no_feature_drift");
        assert!(
            r[0].passed,
            "the validation batch is not shifted: {:?}",
            r[0]
        );
        assert!(r[1].passed, "{:?}", r[1]);
        assert!(r[1].figures["roc_auc"] > 0.8);
        assert!(r[2].figures.contains_key("disparate_impact"));
    }
}
