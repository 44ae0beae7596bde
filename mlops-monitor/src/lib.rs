//! mlops-monitor: drift, fairness and model-performance metrics over Arrow arrays, validation
//! suites that produce [`mlops_core::GateReport`]s, and Prometheus serving metrics.
//!
//! ## Drift
//!
//! [`column_drift`] and [`dataset_drift`] reproduce Evidently 0.7.23 (`family = evidently`):
//! cleaning (±inf → NaN, nulls/NaN dropped), the default method rule, thresholds, comparison
//! operators and binning; p-values follow scipy 1.17 (`ks_2samp`, `chisquare`,
//! `anderson_ksamp`, `cramervonmises_2samp`, `fisher_exact`). Method ids are Evidently's:
//! `psi`, `kl_div`, `jensenshannon`, `wasserstein`, `ks`, `chisquare`, `z`, `hellinger`,
//! `anderson`, `cramer_von_mises`, `ed`, `fisher_exact`. `TVD` and `empirical_mmd` are
//! permutation tests whose p-values are not reproducible: [`Method::parse`] returns
//! [`Error::Unsupported`] for them.
//!
//! Column kinds come from Arrow types ([`ColumnKind::infer`]: numbers → numerical; strings,
//! booleans, dictionaries → categorical), which differs from Evidently's own inference
//! (integers with ≤ 10 distinct values are categorical there).
//!
//! The `standard` family fits bins on the reference (deciles, reference categories), so a
//! [`Profile`] computed once can be reused for every later batch.
//!
//! ## Fairness, performance, gates, serving metrics
//!
//! [`fairness::fairness`] matches fairlearn 0.15 (NaN for 0/0 ratios, with the reason in
//! `notes`); [`performance`] matches scikit-learn 1.9. A [`ValidationSuite`] of [`Check`]s
//! ("no feature drifted", "AUC ≥ 0.8", "disparate impact ≥ 0.8", your own) turns an
//! [`Evidence`] into [`mlops_core::GateReport`]s. [`metrics::ServingMetrics`] exposes latency
//! histograms, request/error counters and drift gauges for Prometheus.
//!
//! ## Edge cases
//!
//! | input | result |
//! |---|---|
//! | a side empty after cleaning (empty, all null/NaN/inf) | [`Error::EmptySample`] |
//! | n = 1 | as Evidently: Z-test for the default rule; CvM and Anderson-Darling: [`Error::NotApplicable`] |
//! | constant columns | as Evidently (Z-test p = 1 when both sides hold the same value; Wasserstein norm floor 0.001) |
//! | chi-square with one category on both sides | score NaN (df = 0), no drift |
//!
//! ```
//! use arrow::array::StringArray;
//! use mlops_monitor::{column_drift, ColumnKind, DriftOptions, Method, Sample};
//! let r = Sample::from_arrow(&StringArray::from(vec!["a", "b", "a", "c"]), ColumnKind::Categorical)?;
//! let c = Sample::from_arrow(&StringArray::from(vec!["a", "c", "c", "c"]), ColumnKind::Categorical)?;
//! let d = column_drift("city", &r, &c, &DriftOptions::evidently())?;
//! assert_eq!(d.method, Method::ChiSquare);
//! # Ok::<(), mlops_monitor::Error>(())
//! ```

pub mod column;
pub mod drift;
mod error;
pub mod fairness;
pub mod io;
pub mod metrics;
pub mod performance;
pub mod profile;
pub(crate) mod stats;
pub mod suite;

pub use column::{ColumnKind, Counts, Key, Numbers, Sample};
pub use drift::{
    Binning, ColumnDrift, ColumnOutcome, DatasetDrift, DatasetSpec, DriftOptions, Family, Method,
    column_drift, dataset_drift,
};
pub use error::{Error, Result};
pub use profile::Profile;
pub use suite::{Check, Evidence, ValidationSuite};
