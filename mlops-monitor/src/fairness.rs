//! Group fairness metrics, identical to fairlearn 0.15 (`MetricFrame`, `selection_rate`,
//! `true_positive_rate`, `false_positive_rate`, `demographic_parity_*`, `equal_opportunity_*`,
//! `equalized_odds_*`).
//!
//! Positive label 1. A group without positives has TPR 0.0 (not NaN) and one without negatives
//! FPR 0.0, as scikit-learn's `confusion_matrix(normalize='true')` maps 0/0 to 0. Ratios that
//! come out 0/0 are NaN, and [`FairnessReport::notes`] says why.

use crate::error::{Error, Result};
use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rates of one group (or of everyone).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GroupRates {
    /// P(ŷ = 1).
    pub selection_rate: f64,
    /// TP / (TP + FN); 0 when the group has no positives.
    pub tpr: f64,
    /// FP / (FP + TN); 0 when the group has no negatives.
    pub fpr: f64,
    /// Rows.
    pub count: u64,
}

/// Disparity metrics under one method (`between_groups` or `to_overall`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Disparities {
    /// Demographic parity difference.
    pub demographic_parity_difference: f64,
    /// Demographic parity ratio (disparate impact).
    pub demographic_parity_ratio: f64,
    /// Equal opportunity difference (TPR).
    pub equal_opportunity_difference: f64,
    /// Equal opportunity ratio (TPR).
    pub equal_opportunity_ratio: f64,
    /// Equalized odds difference, `agg='worst_case'`: max(TPR diff, FPR diff).
    pub equalized_odds_difference_worst_case: f64,
    /// Equalized odds ratio, `agg='worst_case'`: min(TPR ratio, FPR ratio).
    pub equalized_odds_ratio_worst_case: f64,
    /// Equalized odds difference, `agg='mean'`.
    pub equalized_odds_difference_mean: f64,
    /// Equalized odds ratio, `agg='mean'`.
    pub equalized_odds_ratio_mean: f64,
}

/// Fairness of binary predictions across groups of a sensitive feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    /// Rates per group.
    pub by_group: BTreeMap<String, GroupRates>,
    /// Rates over all rows.
    pub overall: GroupRates,
    /// `method='between_groups'` (fairlearn's default).
    pub between_groups: Disparities,
    /// `method='to_overall'`.
    pub to_overall: Disparities,
    /// Why a figure is NaN (0/0 ratios).
    pub notes: Vec<String>,
}

#[derive(Default, Clone, Copy)]
struct Cm {
    tp: u64,
    fp: u64,
    tn: u64,
    fn_: u64,
}

impl Cm {
    fn rates(&self) -> GroupRates {
        let n = self.tp + self.fp + self.tn + self.fn_;
        let div = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        GroupRates {
            selection_rate: (self.tp + self.fp) as f64 / n as f64,
            tpr: div(self.tp, self.tp + self.fn_),
            fpr: div(self.fp, self.fp + self.tn),
            count: n,
        }
    }
}

/// pandas `Series.max()`/`min()` (NaN skipped; NaN when all are NaN).
fn nanmax(v: &[f64]) -> f64 {
    v.iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(f64::NAN, |a, b| if a.is_nan() || b > a { b } else { a })
}
fn nanmin(v: &[f64]) -> f64 {
    v.iter()
        .copied()
        .filter(|x| !x.is_nan())
        .fold(f64::NAN, |a, b| if a.is_nan() || b < a { b } else { a })
}
/// Python's builtin `min(a, b)`/`max(a, b)` (fairlearn's `worst_case`): keeps `a` unless `b`
/// compares strictly better, so a NaN first element wins.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a { b } else { a }
}
fn py_max(a: f64, b: f64) -> f64 {
    if b > a { b } else { a }
}
/// pandas mean with NaN skipped.
fn nanmean(v: &[f64]) -> f64 {
    let f: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if f.is_empty() {
        f64::NAN
    } else {
        f.iter().sum::<f64>() / f.len() as f64
    }
}

fn difference(by: &[f64], overall: f64, to_overall: bool) -> f64 {
    if to_overall {
        nanmax(&by.iter().map(|g| (g - overall).abs()).collect::<Vec<_>>())
    } else {
        nanmax(by) - nanmin(by)
    }
}

fn ratio(by: &[f64], overall: f64, to_overall: bool) -> f64 {
    if to_overall {
        let r: Vec<f64> = by
            .iter()
            .map(|g| {
                let x = g / overall;
                if x > 1.0 { 1.0 / x } else { x }
            })
            .collect();
        nanmin(&r)
    } else {
        nanmin(by) / nanmax(by)
    }
}

fn disparities(by: &[GroupRates], overall: &GroupRates, to_overall: bool) -> Disparities {
    let sr: Vec<f64> = by.iter().map(|g| g.selection_rate).collect();
    let tpr: Vec<f64> = by.iter().map(|g| g.tpr).collect();
    let fpr: Vec<f64> = by.iter().map(|g| g.fpr).collect();
    let tpr_d = difference(&tpr, overall.tpr, to_overall);
    let fpr_d = difference(&fpr, overall.fpr, to_overall);
    let tpr_r = ratio(&tpr, overall.tpr, to_overall);
    let fpr_r = ratio(&fpr, overall.fpr, to_overall);
    Disparities {
        demographic_parity_difference: difference(&sr, overall.selection_rate, to_overall),
        demographic_parity_ratio: ratio(&sr, overall.selection_rate, to_overall),
        equal_opportunity_difference: tpr_d,
        equal_opportunity_ratio: tpr_r,
        equalized_odds_difference_worst_case: py_max(tpr_d, fpr_d),
        equalized_odds_ratio_worst_case: py_min(tpr_r, fpr_r),
        equalized_odds_difference_mean: nanmean(&[tpr_d, fpr_d]),
        equalized_odds_ratio_mean: nanmean(&[tpr_r, fpr_r]),
    }
}

/// Fairness of `y_pred` against `y_true` per group (labels: 1 positive, anything else negative).
///
/// ```
/// use mlops_monitor::fairness::fairness;
/// let y_true = [1, 1, 0, 0, 1, 0];
/// let y_pred = [1, 0, 0, 1, 1, 0];
/// let group = ["a", "a", "a", "b", "b", "b"];
/// let r = fairness(&y_true, &y_pred, &group)?;
/// assert!((r.between_groups.demographic_parity_difference - 1.0 / 3.0).abs() < 1e-12);
/// assert_eq!(r.by_group["a"].tpr, 0.5);
/// # Ok::<(), mlops_monitor::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] for different lengths or no rows.
pub fn fairness<G: AsRef<str>>(
    y_true: &[i64],
    y_pred: &[i64],
    group: &[G],
) -> Result<FairnessReport> {
    if y_true.len() != y_pred.len() || y_true.len() != group.len() {
        return Err(Error::Invalid(format!(
            "y_true, y_pred and group differ in length ({}, {}, {})",
            y_true.len(),
            y_pred.len(),
            group.len()
        )));
    }
    if y_true.is_empty() {
        return Err(Error::Invalid("no rows".into()));
    }
    let mut groups: BTreeMap<String, Cm> = BTreeMap::new();
    let mut all = Cm::default();
    for ((t, p), g) in y_true.iter().zip(y_pred).zip(group) {
        let cm = groups.entry(g.as_ref().to_string()).or_default();
        for c in [cm, &mut all] {
            match (*t == 1, *p == 1) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.fn_ += 1,
            }
        }
    }
    let by_group: BTreeMap<String, GroupRates> =
        groups.iter().map(|(k, c)| (k.clone(), c.rates())).collect();
    let overall = all.rates();
    let rates: Vec<GroupRates> = by_group.values().copied().collect();
    let between_groups = disparities(&rates, &overall, false);
    let to_overall = disparities(&rates, &overall, true);
    let mut notes = Vec::new();
    for (label, d) in [
        ("between_groups", &between_groups),
        ("to_overall", &to_overall),
    ] {
        for (name, v, what) in [
            (
                "demographic_parity_ratio",
                d.demographic_parity_ratio,
                "selection rate",
            ),
            (
                "equal_opportunity_ratio",
                d.equal_opportunity_ratio,
                "true positive rate",
            ),
            (
                "equalized_odds_ratio_worst_case",
                d.equalized_odds_ratio_worst_case,
                "TPR or FPR",
            ),
            (
                "equalized_odds_ratio_mean",
                d.equalized_odds_ratio_mean,
                "TPR and FPR",
            ),
        ] {
            if v.is_nan() {
                notes.push(format!(
                    "{name} ({label}) is NaN: 0/0 — the {what} is 0 in every group{}",
                    if label == "to_overall" {
                        " and overall"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    Ok(FairnessReport {
        by_group,
        overall,
        between_groups,
        to_overall,
        notes,
    })
}

/// [`fairness`] over Arrow arrays: integer or boolean labels, string/dictionary/integer groups.
///
/// # Errors
/// [`Error::Invalid`] for nulls or unsupported types.
pub fn fairness_arrow(
    y_true: &dyn Array,
    y_pred: &dyn Array,
    group: &dyn Array,
) -> Result<FairnessReport> {
    let labels = |a: &dyn Array, what: &str| -> Result<Vec<i64>> {
        if a.null_count() > 0 {
            return Err(Error::Invalid(format!("{what} has nulls")));
        }
        let c = arrow::compute::cast(a, &DataType::Int64)?;
        Ok(c.as_primitive::<arrow::datatypes::Int64Type>()
            .values()
            .to_vec())
    };
    if group.null_count() > 0 {
        return Err(Error::Invalid("group has nulls".into()));
    }
    let g = arrow::compute::cast(group, &DataType::Utf8)?;
    let g: Vec<&str> = g
        .as_string::<i32>()
        .iter()
        .map(|s| s.unwrap_or(""))
        .collect();
    fairness(&labels(y_true, "y_true")?, &labels(y_pred, "y_pred")?, &g)
}
