//! [`GateReport`]: the result of one validation check, as mlops-monitor produces
//! it and registry promotion consumes it.
//!
//! ```
//! use mlops_core::{GateReport, Comparison};
//! let r = GateReport::evaluate("auc", "mlops-monitor", 0.91, Comparison::Ge, 0.8);
//! assert!(r.passed);
//! assert_eq!(r.figures["auc"], 0.91);
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a figure is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Comparison {
    /// figure < threshold
    #[serde(rename = "<")]
    Lt,
    /// figure <= threshold
    #[serde(rename = "<=")]
    Le,
    /// figure > threshold
    #[serde(rename = ">")]
    Gt,
    /// figure >= threshold
    #[serde(rename = ">=")]
    Ge,
    /// figure == threshold
    #[serde(rename = "==")]
    Eq,
}

impl Comparison {
    /// Whether `figure <op> threshold` holds. NaN never passes.
    pub fn holds(self, figure: f64, threshold: f64) -> bool {
        match self {
            Comparison::Lt => figure < threshold,
            Comparison::Le => figure <= threshold,
            Comparison::Gt => figure > threshold,
            Comparison::Ge => figure >= threshold,
            Comparison::Eq => figure == threshold,
        }
    }

    /// The operator as text (`<`, `<=`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Lt => "<",
            Comparison::Le => "<=",
            Comparison::Gt => ">",
            Comparison::Ge => ">=",
            Comparison::Eq => "==",
        }
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A threshold a figure was held against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    /// The operator.
    pub op: Comparison,
    /// The bound.
    pub value: f64,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// The check's name, e.g. `no_feature_drift`, `auc`, `gdpr.lawful_basis`.
    pub check: String,
    /// Whether it passed.
    pub passed: bool,
    /// Measured figures by name.
    #[serde(default)]
    pub figures: BTreeMap<String, f64>,
    /// Thresholds by figure name.
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
    /// What produced it, e.g. `mlops-monitor 0.1.0`.
    pub produced_by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Human-readable detail (evidence, why it failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl GateReport {
    /// A report with no figures.
    pub fn new(check: impl Into<String>, produced_by: impl Into<String>, passed: bool) -> Self {
        Self {
            check: check.into(),
            passed,
            figures: BTreeMap::new(),
            thresholds: BTreeMap::new(),
            produced_by: produced_by.into(),
            at: Utc::now(),
            details: None,
        }
    }

    /// Holds one figure (named like the check) against a threshold.
    pub fn evaluate(
        check: impl Into<String>,
        produced_by: impl Into<String>,
        figure: f64,
        op: Comparison,
        threshold: f64,
    ) -> Self {
        let check = check.into();
        let mut r = Self::new(check.clone(), produced_by, op.holds(figure, threshold));
        r.figures.insert(check.clone(), figure);
        r.thresholds.insert(
            check,
            Threshold {
                op,
                value: threshold,
            },
        );
        r
    }

    /// Adds a figure.
    pub fn with_figure(mut self, name: impl Into<String>, value: f64) -> Self {
        self.figures.insert(name.into(), value);
        self
    }

    /// Adds details.
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_and_nan() {
        assert!(Comparison::Lt.holds(0.05, 0.1));
        assert!(!Comparison::Lt.holds(0.1, 0.1));
        assert!(Comparison::Le.holds(0.1, 0.1));
        assert!(!Comparison::Ge.holds(f64::NAN, 0.0));
        let r = GateReport::evaluate("psi", "test", 0.3, Comparison::Lt, 0.1);
        assert!(!r.passed);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["thresholds"]["psi"]["op"], "<");
        let back: GateReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }
}
