//! One column: the default method rule, every method, the decision.

use super::binned::{self, CurrentSide, StandardBins};
use super::method::{Binning, Family, Method};
use crate::column::{ColumnKind, Counts, Key, Numbers, Sample};
use crate::error::{Error, Result};
use crate::stats;
use mlops_core::Comparison;
use serde::{Deserialize, Serialize};
use std::cell::OnceCell;

/// Options for one column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DriftOptions {
    /// The method; `None` applies Evidently's default rule.
    pub method: Option<Method>,
    /// The threshold; `None` uses the method's default.
    pub threshold: Option<f64>,
    /// The family of the binned methods.
    pub family: Family,
}

impl DriftOptions {
    /// Evidently's defaults.
    pub fn evidently() -> Self {
        Self::default()
    }

    /// The `standard` family with default methods and thresholds.
    pub fn standard() -> Self {
        Self {
            family: Family::Standard,
            ..Self::default()
        }
    }

    /// Sets the method.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = Some(method);
        self
    }

    /// Sets the threshold.
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = Some(threshold);
        self
    }
}

/// The drift result of one column: every figure needed to audit the decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// Column name.
    pub column: String,
    /// How it was tested.
    pub kind: ColumnKind,
    /// The method.
    pub method: Method,
    /// The family.
    pub family: Family,
    /// The score: a p-value or a distance (see [`Method::is_p_value`]).
    pub score: f64,
    /// The test statistic where it differs from the score (KS D, chi-square, z, W1, ...).
    pub statistic: Option<f64>,
    /// The threshold.
    pub threshold: f64,
    /// Drift when `score <operator> threshold`.
    pub operator: Comparison,
    /// The decision.
    pub drift: bool,
    /// How the data were binned.
    pub binning: Binning,
    /// Reference values after cleaning.
    pub n_reference: usize,
    /// Current values after cleaning.
    pub n_current: usize,
}

/// Evidently's default method rule (`_get_default_stattest`): `n = n_ref`, `k` = distinct values
/// of reference ∪ current.
pub fn default_method(kind: ColumnKind, n_reference: usize, distinct: usize) -> Method {
    if n_reference <= 1000 {
        match kind {
            ColumnKind::Numerical if distinct <= 2 => Method::Z,
            ColumnKind::Numerical if distinct <= 5 => Method::ChiSquare,
            ColumnKind::Numerical => Method::Ks,
            ColumnKind::Categorical if distinct <= 2 => Method::Z,
            ColumnKind::Categorical => Method::ChiSquare,
        }
    } else if kind == ColumnKind::Numerical && distinct > 5 {
        Method::Wasserstein
    } else {
        Method::JensenShannon
    }
}

/// Drift of one column between two cleaned samples of the same kind.
///
/// ```
/// use mlops_monitor::{column_drift, ColumnKind, DriftOptions, Method, Sample};
/// use arrow::array::Float64Array;
/// let r = Sample::from_arrow(&Float64Array::from(vec![1.0, 2.0, 3.0, 4.0, 5.0]), ColumnKind::Numerical)?;
/// let c = Sample::from_arrow(&Float64Array::from(vec![6.0, 7.0, 8.0, 9.0, 10.0]), ColumnKind::Numerical)?;
/// let d = column_drift("x", &r, &c, &DriftOptions::evidently())?;
/// assert_eq!(d.method, Method::Ks); // n ≤ 1000 and > 5 distinct values
/// assert!(d.drift && (d.score - 0.007936507936507936).abs() < 1e-12);
/// # Ok::<(), mlops_monitor::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptySample`] when a side is empty, [`Error::Invalid`] when the kinds differ,
/// [`Error::NotApplicable`] where Evidently raises (method not allowed for the kind, Fisher on
/// non-binary data or unequal sizes, Anderson-Darling on one distinct value, CvM with n < 2).
pub fn column_drift(
    column: &str,
    reference: &Sample,
    current: &Sample,
    options: &DriftOptions,
) -> Result<ColumnDrift> {
    for (side, s) in [("reference", reference), ("current", current)] {
        if s.is_empty() {
            return Err(Error::EmptySample {
                column: column.to_string(),
                side,
            });
        }
    }
    // Samples built by hand may hold NaN/±inf: clean them as `Sample::from_arrow` does. The
    // same pass finds the range of both sides (Evidently's Sturges bins need it).
    let cleaned;
    let mut range = None;
    let (reference, current) = match (reference, current) {
        (Sample::Numerical(r), Sample::Numerical(c)) => {
            match (
                crate::column::finite_range(&r.values),
                crate::column::finite_range(&c.values),
            ) {
                (Some((l1, h1)), Some((l2, h2))) => {
                    range = Some((l1.min(l2), h1.max(h2)));
                    (reference, current)
                }
                _ => {
                    let clean = |n: &Numbers| Numbers {
                        values: n.values.iter().copied().filter(|v| v.is_finite()).collect(),
                        integer: n.integer,
                    };
                    cleaned = (Sample::Numerical(clean(r)), Sample::Numerical(clean(c)));
                    (&cleaned.0, &cleaned.1)
                }
            }
        }
        _ => (reference, current),
    };
    for (side, s) in [("reference", reference), ("current", current)] {
        if s.is_empty() {
            return Err(Error::EmptySample {
                column: column.to_string(),
                side,
            });
        }
    }
    let (kind, n_reference, distinct6) = match (reference, current) {
        (Sample::Numerical(r), Sample::Numerical(c)) => (
            ColumnKind::Numerical,
            r.values.len(),
            if binned::distinct_exceeds(r.values.iter().chain(&c.values), 5) {
                6
            } else {
                Counts::from_values(&[r.values.as_slice(), c.values.as_slice()].concat())
                    .counts
                    .len()
            },
        ),
        (Sample::Categorical(r), Sample::Categorical(c)) => (
            ColumnKind::Categorical,
            r.n as usize,
            binned::union(r, c).len(),
        ),
        _ => {
            return Err(Error::Invalid(format!(
                "column {column:?}: reference and current are of different kinds"
            )));
        }
    };
    let method = match options.method {
        Some(m) => {
            if !m.allows(kind) {
                return Err(Error::na(
                    m.id(),
                    format!("not applicable to a {} column", kind.as_str()),
                ));
            }
            m
        }
        None => default_method(kind, n_reference, distinct6),
    };
    let threshold = options.threshold.unwrap_or(method.default_threshold());
    let (score, statistic, binning) = match (reference, current) {
        (Sample::Numerical(r), Sample::Numerical(c)) => {
            numerical(method, options.family, r, c, range)?
        }
        (Sample::Categorical(r), Sample::Categorical(c)) => {
            categorical(method, options.family, r, c)?
        }
        _ => unreachable_kinds()?,
    };
    let operator = method.drift_when();
    Ok(ColumnDrift {
        column: column.to_string(),
        kind,
        method,
        family: options.family,
        score,
        statistic,
        threshold,
        operator,
        drift: operator.holds(score, threshold),
        binning,
        n_reference,
        n_current: current.len(),
    })
}

fn unreachable_kinds() -> Result<(f64, Option<f64>, Binning)> {
    Err(Error::Invalid(
        "reference and current are of different kinds".into(),
    ))
}

type Scored = (f64, Option<f64>, Binning);

/// `r` and `c` are cleaned (finite); `range` is their joint (min, max) when already known.
fn numerical(
    method: Method,
    family: Family,
    r: &Numbers,
    c: &Numbers,
    range: Option<(f64, f64)>,
) -> Result<Scored> {
    let sr = OnceCell::new();
    let sc = OnceCell::new();
    let sr = || sr.get_or_init(|| stats::sorted_finite(&r.values));
    let sc = || sc.get_or_init(|| stats::sorted_finite(&c.values));
    Ok(match method {
        Method::Ks => {
            let (n, m) = (r.values.len(), c.values.len());
            // large samples: exact statistics from value buckets, without sorting
            let bucketed = match range {
                Some((lo, hi)) if n.min(m) >= stats::bucketed::MIN_SIDE => {
                    stats::bucketed::ks_stat(&r.values, &c.values, lo, hi)
                }
                _ => None,
            };
            let ks = bucketed.unwrap_or_else(|| stats::ecdf_pass(sr(), sc()).ks());
            let (d, p) = stats::ks::ks_2samp(n, m, &ks);
            (p, Some(d), Binning::None)
        }
        Method::Wasserstein => {
            let pass = stats::ecdf_pass(sr(), sc());
            let norm = stats::std_pop(&r.values).max(0.001);
            (pass.w1 / norm, Some(pass.w1), Binning::None)
        }
        Method::Ed => {
            let pass = stats::ecdf_pass(sr(), sc());
            (
                std::f64::consts::SQRT_2 * pass.l2sq.sqrt(),
                None,
                Binning::None,
            )
        }
        Method::CramerVonMises => {
            let p = stats::cvm::cvm_2samp(sr(), sc()).map_err(|m| Error::na(method.id(), m))?;
            (p, None, Binning::None)
        }
        Method::Anderson => {
            let p = stats::anderson::anderson_2samp(sr(), sc())
                .map_err(|m| Error::na(method.id(), m))?;
            (p, None, Binning::None)
        }
        Method::Psi | Method::KlDiv | Method::JensenShannon | Method::Hellinger => match family {
            Family::Evidently if method == Method::Hellinger => {
                let (h, b) =
                    binned::evidently_hellinger_numeric(sr(), sc(), r.integer && c.integer);
                (h, None, b)
            }
            Family::Evidently => {
                let (p, q, b) = binned::evidently_numeric(r, c, range);
                (binned_score(method, family, p, q), None, b)
            }
            Family::Standard => {
                let bins = StandardBins::deciles(sr());
                let (p, q, b) = bins.proportions(&CurrentSide::Numbers(&c.values));
                (binned_score(method, family, p, q), None, b)
            }
        },
        Method::ChiSquare | Method::Z | Method::FisherExact => categorical(
            method,
            family,
            &Counts::from_values(&r.values),
            &Counts::from_values(&c.values),
        )?,
    })
}

/// PSI/KL/JS/Hellinger from unfilled proportions.
pub(crate) fn binned_score(
    method: Method,
    family: Family,
    mut p: Vec<f64>,
    mut q: Vec<f64>,
) -> f64 {
    match method {
        Method::JensenShannon => binned::jensenshannon(
            &p,
            &q,
            if family == Family::Standard {
                Some(2.0)
            } else {
                None
            },
        ),
        Method::Hellinger => {
            binned::hellinger_from_bc(stats::sum(p.iter().zip(&q).map(|(a, b)| (a * b).sqrt())))
        }
        _ => {
            match family {
                Family::Evidently => {
                    binned::evidently_fill(&mut p);
                    binned::evidently_fill(&mut q);
                }
                Family::Standard => {
                    binned::standard_clip(&mut p);
                    binned::standard_clip(&mut q);
                }
            }
            if method == Method::Psi {
                binned::psi(&p, &q)
            } else {
                binned::kl(&p, &q)
            }
        }
    }
}

fn categorical(method: Method, family: Family, r: &Counts, c: &Counts) -> Result<Scored> {
    Ok(match method {
        Method::ChiSquare => {
            let keys = binned::union(r, c);
            let k_norm = c.n as f64 / r.n as f64;
            let mut stat = 0.0;
            let terms = keys.iter().map(|k| {
                let f_exp = r.counts.get(*k).copied().unwrap_or(0) as f64 * k_norm;
                let f_obs = c.counts.get(*k).copied().unwrap_or(0) as f64;
                (f_obs - f_exp).powi(2) / f_exp
            });
            for t in terms {
                stat += t;
            }
            let p = stats::chi2_sf(stat, keys.len() as f64 - 1.0);
            (p, Some(stat), Binning::PerValue { bins: keys.len() })
        }
        Method::Z => {
            if r.counts.len() == 1 && c.counts.len() == 1 && r.counts.keys().eq(c.counts.keys()) {
                (1.0, None, Binning::PerValue { bins: 1 })
            } else {
                let keys = binned::union(r, c);
                let first: &Key = keys[0];
                let ones = |s: &Counts| s.n - s.counts.get(first).copied().unwrap_or(0);
                let (n1, n2) = (r.n as f64, c.n as f64);
                let p1 = ones(r) as f64 / n1;
                let p2 = ones(c) as f64 / n2;
                let pp = (p1 * n1 + p2 * n2) / (n1 + n2);
                let z = (p1 - p2) / (pp * (1.0 - pp) * (1.0 / n1 + 1.0 / n2)).sqrt();
                let p = 2.0 * (1.0 - stats::norm_cdf(z.abs()));
                (p, Some(z), Binning::PerValue { bins: keys.len() })
            }
        }
        Method::FisherExact => {
            if r.n != c.n {
                return Err(Error::na(
                    method.id(),
                    "reference_data and current_data are not of equal length, please ensure that they are of equal length",
                ));
            }
            let keys = binned::union(r, c);
            if keys.len() > 2 {
                return Err(Error::na(
                    method.id(),
                    "Expects binary data for both reference and current, but found unique categories > 2",
                ));
            }
            if keys.len() == 1 {
                (1.0, None, Binning::PerValue { bins: 1 })
            } else {
                let one = keys[1];
                let ones = |s: &Counts| s.counts.get(one).copied().unwrap_or(0);
                let table = [[ones(c), c.n - ones(c)], [ones(r), r.n - ones(r)]];
                (
                    stats::fisher::fisher_exact(table),
                    None,
                    Binning::PerValue { bins: 2 },
                )
            }
        }
        Method::Psi | Method::KlDiv | Method::JensenShannon | Method::Hellinger => {
            let (p, q, b) = match family {
                Family::Evidently => binned::evidently_categorical(r, c),
                Family::Standard => {
                    StandardBins::categories(r).proportions(&CurrentSide::Counts(c))
                }
            };
            (binned_score(method, family, p, q), None, b)
        }
        other => {
            return Err(Error::na(
                other.id(),
                "not applicable to a categorical column",
            ));
        }
    })
}
