//! Validation suites: named checks with thresholds that turn drift, fairness and performance
//! results into [`GateReport`]s, which registry promotion consumes.

use crate::drift::{ColumnOutcome, DatasetDrift};
use crate::error::{Error, Result};
use crate::fairness::FairnessReport;
use crate::performance::{Classification, Regression};
use mlops_core::{Comparison, GateReport, Threshold};
use std::collections::BTreeMap;

/// What this crate writes into `GateReport::produced_by`.
pub const PRODUCED_BY: &str = concat!("mlops-monitor ", env!("CARGO_PKG_VERSION"));

/// The results a suite checks. Fill in what you have; a check whose evidence is missing fails
/// with a reason.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Dataset drift.
    pub drift: Option<DatasetDrift>,
    /// Fairness.
    pub fairness: Option<FairnessReport>,
    /// Classification performance.
    pub classification: Option<Classification>,
    /// Regression performance.
    pub regression: Option<Regression>,
    /// Free-form figures (latency p99, cost, ...), for custom checks.
    pub figures: BTreeMap<String, f64>,
}

/// A validation check.
///
/// **Contract**: `evaluate` is pure (same evidence, same verdict, except the timestamp) and
/// returns `Err` only when the evidence it needs is missing; a failing check is
/// `Ok(GateReport { passed: false, .. })`.
///
/// ```
/// use mlops_monitor::suite::{Check, Evidence, PRODUCED_BY, ValidationSuite};
/// use mlops_core::{Comparison, GateReport};
/// #[derive(Debug)]
/// struct P99Latency(f64);
/// impl Check for P99Latency {
///     fn name(&self) -> &str { "latency_p99" }
///     fn evaluate(&self, e: &Evidence) -> mlops_monitor::Result<GateReport> {
///         let v = e.figures.get("latency_p99").copied().ok_or_else(|| mlops_monitor::Error::Invalid("no latency".into()))?;
///         Ok(GateReport::evaluate(self.name(), PRODUCED_BY, v, Comparison::Le, self.0))
///     }
/// }
/// let mut e = Evidence::default();
/// e.figures.insert("latency_p99".into(), 0.08);
/// let reports = ValidationSuite::new().with(P99Latency(0.1)).run(&e);
/// assert!(reports[0].passed);
/// ```
pub trait Check: std::fmt::Debug + Send + Sync {
    /// The check's name (the `GateReport::check`).
    fn name(&self) -> &str;
    /// Evaluates the evidence.
    ///
    /// # Errors
    /// When the evidence the check needs is missing.
    fn evaluate(&self, evidence: &Evidence) -> Result<GateReport>;
}

impl<T: Check + ?Sized> Check for Box<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn evaluate(&self, evidence: &Evidence) -> Result<GateReport> {
        (**self).evaluate(evidence)
    }
}

impl<T: Check + ?Sized> Check for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn evaluate(&self, evidence: &Evidence) -> Result<GateReport> {
        (**self).evaluate(evidence)
    }
}

/// "No feature drifted": at most `max_drifted` drifted columns (default 0). Figures: the
/// number of drifted columns, the share, and each tested column's score.
#[derive(Debug, Clone)]
pub struct NoFeatureDrift {
    /// Allowed drifted columns.
    pub max_drifted: usize,
}

impl Check for NoFeatureDrift {
    fn name(&self) -> &str {
        "no_feature_drift"
    }

    fn evaluate(&self, e: &Evidence) -> Result<GateReport> {
        let d = e.drift.as_ref().ok_or_else(|| missing("drift"))?;
        let mut r = GateReport::evaluate(
            "drifted_columns",
            PRODUCED_BY,
            d.drifted as f64,
            Comparison::Le,
            self.max_drifted as f64,
        );
        r.check = self.name().to_string();
        r = r.with_figure("drift_share", d.share);
        let mut drifted = Vec::new();
        let mut failed = Vec::new();
        for c in &d.columns {
            match c {
                ColumnOutcome::Tested(t) => {
                    r.figures
                        .insert(format!("{}.{}", t.column, t.method), t.score);
                    if t.drift {
                        drifted.push(format!(
                            "{} ({} {} {} {})",
                            t.column, t.method, t.score, t.operator, t.threshold
                        ));
                    }
                }
                ColumnOutcome::Failed { column, error } => {
                    failed.push(format!("{column}: {error}"))
                }
            }
        }
        // a column that could not be tested cannot vouch for "no drift"
        if !failed.is_empty() {
            r.passed = false;
        }
        r.details = Some(format!(
            "{}/{} columns drifted{}{}",
            d.drifted,
            d.total,
            if drifted.is_empty() {
                String::new()
            } else {
                format!(": {}", drifted.join("; "))
            },
            if failed.is_empty() {
                String::new()
            } else {
                format!("; untested: {}", failed.join("; "))
            },
        ));
        Ok(r)
    }
}

/// A named metric of the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Metric {
    /// ROC AUC.
    RocAuc,
    /// PR AUC (average precision).
    PrAuc,
    /// Accuracy.
    Accuracy,
    /// Precision.
    Precision,
    /// Recall.
    Recall,
    /// F1.
    F1,
    /// Log loss.
    LogLoss,
    /// MAE.
    Mae,
    /// RMSE.
    Rmse,
    /// MAPE.
    Mape,
    /// R².
    R2,
    /// Demographic parity ratio between groups (disparate impact).
    DisparateImpact,
    /// Demographic parity difference between groups.
    DemographicParityDifference,
    /// Equal opportunity difference between groups.
    EqualOpportunityDifference,
    /// Equalized odds difference between groups (worst case).
    EqualizedOddsDifference,
    /// Share of drifted columns.
    DriftShare,
}

impl Metric {
    /// Figure name.
    pub fn id(self) -> &'static str {
        match self {
            Metric::RocAuc => "roc_auc",
            Metric::PrAuc => "pr_auc",
            Metric::Accuracy => "accuracy",
            Metric::Precision => "precision",
            Metric::Recall => "recall",
            Metric::F1 => "f1",
            Metric::LogLoss => "log_loss",
            Metric::Mae => "mae",
            Metric::Rmse => "rmse",
            Metric::Mape => "mape",
            Metric::R2 => "r2",
            Metric::DisparateImpact => "disparate_impact",
            Metric::DemographicParityDifference => "demographic_parity_difference",
            Metric::EqualOpportunityDifference => "equal_opportunity_difference",
            Metric::EqualizedOddsDifference => "equalized_odds_difference",
            Metric::DriftShare => "drift_share",
        }
    }

    fn value(self, e: &Evidence) -> Result<f64> {
        let c = || {
            e.classification
                .as_ref()
                .ok_or_else(|| missing("classification"))
        };
        let r = || e.regression.as_ref().ok_or_else(|| missing("regression"));
        let f = || e.fairness.as_ref().ok_or_else(|| missing("fairness"));
        let scores = |v: Option<f64>| v.ok_or_else(|| missing("classification scores"));
        Ok(match self {
            Metric::RocAuc => scores(c()?.roc_auc)?,
            Metric::PrAuc => scores(c()?.pr_auc)?,
            Metric::LogLoss => scores(c()?.log_loss)?,
            Metric::Accuracy => c()?.accuracy,
            Metric::Precision => c()?.precision,
            Metric::Recall => c()?.recall,
            Metric::F1 => c()?.f1,
            Metric::Mae => r()?.mae,
            Metric::Rmse => r()?.rmse,
            Metric::Mape => r()?.mape,
            Metric::R2 => r()?.r2,
            Metric::DisparateImpact => f()?.between_groups.demographic_parity_ratio,
            Metric::DemographicParityDifference => {
                f()?.between_groups.demographic_parity_difference
            }
            Metric::EqualOpportunityDifference => f()?.between_groups.equal_opportunity_difference,
            Metric::EqualizedOddsDifference => {
                f()?.between_groups.equalized_odds_difference_worst_case
            }
            Metric::DriftShare => e.drift.as_ref().ok_or_else(|| missing("drift"))?.share,
        })
    }
}

fn missing(what: &str) -> Error {
    Error::Invalid(format!("the evidence holds no {what} result"))
}

/// `metric <op> threshold`, e.g. "AUC ≥ 0.8" or "disparate impact ≥ 0.8". NaN never passes.
#[derive(Debug, Clone)]
pub struct MetricThreshold {
    /// Check name.
    pub name: String,
    /// The metric.
    pub metric: Metric,
    /// The bound.
    pub threshold: Threshold,
}

impl MetricThreshold {
    /// A check named after the metric.
    pub fn new(metric: Metric, op: Comparison, value: f64) -> Self {
        Self {
            name: metric.id().to_string(),
            metric,
            threshold: Threshold { op, value },
        }
    }

    /// "AUC ≥ min".
    pub fn auc_at_least(min: f64) -> Self {
        Self::new(Metric::RocAuc, Comparison::Ge, min)
    }

    /// "Disparate impact (demographic parity ratio) ≥ min" — the four-fifths rule at 0.8.
    pub fn disparate_impact_at_least(min: f64) -> Self {
        Self::new(Metric::DisparateImpact, Comparison::Ge, min)
    }
}

impl Check for MetricThreshold {
    fn name(&self) -> &str {
        &self.name
    }

    fn evaluate(&self, e: &Evidence) -> Result<GateReport> {
        let v = self.metric.value(e)?;
        let mut r = GateReport::evaluate(
            self.metric.id(),
            PRODUCED_BY,
            v,
            self.threshold.op,
            self.threshold.value,
        );
        r.check = self.name.clone();
        if v.is_nan() {
            let why = e
                .fairness
                .as_ref()
                .map(|f| f.notes.join("; "))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "undefined (NaN)".into());
            r.details = Some(format!("{} is NaN: {why}", self.metric.id()));
        }
        Ok(r)
    }
}

/// An ordered list of checks.
#[derive(Debug, Default)]
pub struct ValidationSuite {
    checks: Vec<Box<dyn Check>>,
}

impl ValidationSuite {
    /// An empty suite.
    pub fn new() -> Self {
        Self::default()
    }

    /// The usual promotion gates: no feature drifted, AUC ≥ `min_auc`, disparate impact ≥ 0.8.
    pub fn standard(min_auc: f64) -> Self {
        Self::new()
            .with(NoFeatureDrift { max_drifted: 0 })
            .with(MetricThreshold::auc_at_least(min_auc))
            .with(MetricThreshold::disparate_impact_at_least(0.8))
    }

    /// Adds a check.
    pub fn with(mut self, check: impl Check + 'static) -> Self {
        self.checks.push(Box::new(check));
        self
    }

    /// Runs every check; a check whose evidence is missing yields a failed report saying so.
    pub fn run(&self, evidence: &Evidence) -> Vec<GateReport> {
        self.checks
            .iter()
            .map(|c| match c.evaluate(evidence) {
                Ok(r) => r,
                Err(e) => {
                    let mut r = GateReport::new(c.name(), PRODUCED_BY, false);
                    r.details = Some(e.to_string());
                    r
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fairness::fairness;
    use crate::performance::classification;

    #[test]
    fn standard_suite_gates() {
        let mut e = Evidence {
            classification: Some(
                classification(&[0, 1, 1, 0], &[0, 1, 1, 1], Some(&[0.1, 0.9, 0.8, 0.7]))
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            fairness: Some(
                fairness(&[1, 0, 1, 0], &[1, 0, 1, 1], &["a", "a", "b", "b"])
                    .unwrap_or_else(|e| panic!("{e}")),
            ),
            ..Evidence::default()
        };
        let r = ValidationSuite::standard(0.8).run(&e);
        assert_eq!(r.len(), 3);
        assert!(!r[0].passed && r[0].details.as_deref().unwrap_or("").contains("no drift"));
        assert!(r[1].passed, "{:?}", r[1]);
        assert_eq!(r[1].figures["roc_auc"], 1.0);
        // SR a = 1/2, b = 1 -> DI 0.5 < 0.8
        assert!(!r[2].passed);
        assert_eq!(r[2].thresholds["disparate_impact"].op, Comparison::Ge);
        e.fairness =
            Some(fairness(&[1, 0], &[0, 0], &["a", "b"]).unwrap_or_else(|e| panic!("{e}")));
        let r = ValidationSuite::new()
            .with(MetricThreshold::disparate_impact_at_least(0.8))
            .run(&e);
        assert!(!r[0].passed);
        assert!(
            r[0].details.as_deref().unwrap_or("").contains("0/0"),
            "{:?}",
            r[0].details
        );
    }
}
