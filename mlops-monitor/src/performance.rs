//! Model performance metrics, identical to scikit-learn 1.9 (binary classification with
//! positive label 1 and `zero_division=0`; regression).

use crate::error::{Error, Result};
use crate::stats::sum;
use serde::{Deserialize, Serialize};

/// Binary classification metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    /// `accuracy_score`.
    pub accuracy: f64,
    /// `precision_score` (0 when nothing is predicted positive).
    pub precision: f64,
    /// `recall_score` (0 when there are no positives).
    pub recall: f64,
    /// `f1_score`.
    pub f1: f64,
    /// `roc_auc_score` of the scores (NaN when `y_true` holds one class, as sklearn warns).
    pub roc_auc: Option<f64>,
    /// `average_precision_score` of the scores (PR AUC).
    pub pr_auc: Option<f64>,
    /// `log_loss` of the scores (probabilities clipped to [eps, 1 − eps]).
    pub log_loss: Option<f64>,
    /// `confusion_matrix(labels=[0, 1])`: `[[tn, fp], [fn, tp]]`.
    pub confusion_matrix: [[u64; 2]; 2],
}

/// Regression metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Regression {
    /// `mean_absolute_error`.
    pub mae: f64,
    /// `root_mean_squared_error`.
    pub rmse: f64,
    /// `mean_absolute_percentage_error` (|y| floored at f64 epsilon, as sklearn).
    pub mape: f64,
    /// `r2_score` (`force_finite`: 1.0 for a perfect fit of a constant target, else 0.0).
    pub r2: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// Classification metrics from labels (1 = positive) and, optionally, scores P(y = 1).
///
/// ```
/// use mlops_monitor::performance::classification;
/// let m = classification(&[0, 0, 1, 1], &[0, 1, 1, 1], Some(&[0.1, 0.6, 0.8, 0.9]))?;
/// assert_eq!(m.accuracy, 0.75);
/// assert_eq!(m.roc_auc, Some(1.0));
/// # Ok::<(), mlops_monitor::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] for different lengths, no rows, or scores that are not finite.
pub fn classification(
    y_true: &[i64],
    y_pred: &[i64],
    scores: Option<&[f64]>,
) -> Result<Classification> {
    if y_true.len() != y_pred.len() || scores.is_some_and(|s| s.len() != y_true.len()) {
        return Err(Error::Invalid(
            "y_true, y_pred and scores differ in length".into(),
        ));
    }
    if y_true.is_empty() {
        return Err(Error::Invalid("no rows".into()));
    }
    let mut cm = [[0u64; 2]; 2];
    for (t, p) in y_true.iter().zip(y_pred) {
        cm[usize::from(*t == 1)][usize::from(*p == 1)] += 1;
    }
    let [[tn, fp], [fn_, tp]] = cm;
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    // sklearn: F1 = 2·tp / (2·tp + fp + fn), 0 when the denominator is 0
    let f1 = ratio(2 * tp, 2 * tp + fp + fn_);
    let (mut roc_auc, mut pr_auc, mut log_loss) = (None, None, None);
    if let Some(s) = scores {
        if s.iter().any(|x| !x.is_finite()) {
            return Err(Error::Invalid("scores must be finite".into()));
        }
        let curve = BinaryCurve::new(y_true, s);
        roc_auc = Some(curve.roc_auc());
        pr_auc = Some(curve.average_precision());
        log_loss = Some(binary_log_loss(y_true, s));
    }
    Ok(Classification {
        accuracy: (tp + tn) as f64 / y_true.len() as f64,
        precision,
        recall,
        f1,
        roc_auc,
        pr_auc,
        log_loss,
        confusion_matrix: cm,
    })
}

/// sklearn `_binary_clf_curve`: cumulative TP/FP counts at each distinct score, descending.
struct BinaryCurve {
    tps: Vec<f64>,
    fps: Vec<f64>,
}

impl BinaryCurve {
    fn new(y_true: &[i64], scores: &[f64]) -> Self {
        let mut idx: Vec<usize> = (0..scores.len()).collect();
        idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        let (mut tps, mut fps) = (Vec::new(), Vec::new());
        let (mut tp, mut fp) = (0.0, 0.0);
        for (k, &i) in idx.iter().enumerate() {
            if y_true[i] == 1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            let last = k + 1 == idx.len() || scores[idx[k + 1]] != scores[i];
            if last {
                tps.push(tp);
                fps.push(fp);
            }
        }
        Self { tps, fps }
    }

    /// sklearn `roc_auc_score`: trapezoids over (fpr, tpr) from (0, 0); NaN with one class.
    fn roc_auc(&self) -> f64 {
        let (p, n) = (
            self.tps.last().copied().unwrap_or(0.0),
            self.fps.last().copied().unwrap_or(0.0),
        );
        if p == 0.0 || n == 0.0 {
            return f64::NAN;
        }
        let mut x = vec![0.0];
        let mut y = vec![0.0];
        x.extend(self.fps.iter().map(|f| f / n));
        y.extend(self.tps.iter().map(|t| t / p));
        let mut area = 0.0;
        for i in 1..x.len() {
            area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
        }
        area
    }

    /// sklearn `average_precision_score`: Σ (R_k − R_{k−1})·P_k over descending thresholds.
    fn average_precision(&self) -> f64 {
        let p = self.tps.last().copied().unwrap_or(0.0);
        let precision: Vec<f64> = self
            .tps
            .iter()
            .zip(&self.fps)
            .map(|(t, f)| if t + f == 0.0 { 0.0 } else { t / (t + f) })
            .collect();
        // sklearn sets recall to 1 when there are no positives (and warns)
        let recall: Vec<f64> = self
            .tps
            .iter()
            .map(|t| if p == 0.0 { 1.0 } else { t / p })
            .collect();
        // numpy: -sum(diff(recall_rev_with_0) * precision_rev[:-1]) in ascending-threshold order
        let mut r: Vec<f64> = recall.iter().rev().copied().collect();
        r.push(0.0);
        let mut pr: Vec<f64> = precision.iter().rev().copied().collect();
        pr.push(1.0);
        let mut s = 0.0;
        for i in 0..r.len() - 1 {
            s += (r[i + 1] - r[i]) * pr[i];
        }
        -s
    }
}

fn binary_log_loss(y_true: &[i64], scores: &[f64]) -> f64 {
    let eps = f64::EPSILON;
    let total: f64 = y_true
        .iter()
        .zip(scores)
        .map(|(t, s)| {
            let p = s.clamp(eps, 1.0 - eps);
            // sklearn normalises the two columns [1 − p, p] to sum 1 (a no-op up to rounding)
            let (q0, q1) = (1.0 - p, p);
            let z = q0 + q1;
            if *t == 1 {
                -(q1 / z).ln()
            } else {
                -(q0 / z).ln()
            }
        })
        .sum();
    total / y_true.len() as f64
}

/// Regression metrics.
///
/// ```
/// let m = mlops_monitor::performance::regression(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0])?;
/// assert!((m.mae - 1.0 / 3.0).abs() < 1e-15);
/// # Ok::<(), mlops_monitor::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] for different lengths, no rows or non-finite values.
pub fn regression(y_true: &[f64], y_pred: &[f64]) -> Result<Regression> {
    if y_true.len() != y_pred.len() || y_true.is_empty() {
        return Err(Error::Invalid(
            "y_true and y_pred must be non-empty and of one length".into(),
        ));
    }
    if y_true.iter().chain(y_pred).any(|v| !v.is_finite()) {
        return Err(Error::Invalid("values must be finite".into()));
    }
    let n = y_true.len() as f64;
    let mae = sum(y_true.iter().zip(y_pred).map(|(t, p)| (t - p).abs())) / n;
    let ss_res = sum(y_true.iter().zip(y_pred).map(|(t, p)| (t - p) * (t - p)));
    let mape = sum(y_true
        .iter()
        .zip(y_pred)
        .map(|(t, p)| (t - p).abs() / t.abs().max(f64::EPSILON)))
        / n;
    let mean = sum(y_true.iter().copied()) / n;
    let ss_tot = sum(y_true.iter().map(|t| (t - mean) * (t - mean)));
    let r2 = if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    };
    Ok(Regression {
        mae,
        rmse: (ss_res / n).sqrt(),
        mape,
        r2,
    })
}
