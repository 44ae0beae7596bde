//! Dataset drift: every column, then the share of drifted columns against `drift_share`.

use super::engine::{ColumnDrift, DriftOptions, column_drift};
use crate::column::{ColumnKind, Sample};
use crate::error::{Error, Result};
use arrow::array::RecordBatch;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Evidently's default `drift_share` (dataset drift when share ≥ 0.5, inclusive).
pub const DEFAULT_DRIFT_SHARE: f64 = 0.5;

/// Which columns to test and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Columns to test, in order; `None` tests every reference column.
    pub columns: Option<Vec<String>>,
    /// Kinds named explicitly; other columns take [`ColumnKind::infer`].
    pub kinds: BTreeMap<String, ColumnKind>,
    /// Options for every column.
    pub options: DriftOptions,
    /// Per-column overrides.
    pub per_column: BTreeMap<String, DriftOptions>,
    /// Dataset drift when `drifted / tested >= drift_share`.
    pub drift_share: f64,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        Self {
            columns: None,
            kinds: BTreeMap::new(),
            options: DriftOptions::default(),
            per_column: BTreeMap::new(),
            drift_share: DEFAULT_DRIFT_SHARE,
        }
    }
}

/// A column's outcome: a result, or why it could not be tested (where Evidently raises).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ColumnOutcome {
    /// Tested.
    Tested(ColumnDrift),
    /// Not tested.
    Failed {
        /// Column name.
        column: String,
        /// Why.
        error: String,
    },
}

impl ColumnOutcome {
    /// The column name.
    pub fn column(&self) -> &str {
        match self {
            ColumnOutcome::Tested(d) => &d.column,
            ColumnOutcome::Failed { column, .. } => column,
        }
    }
}

/// Dataset drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// One outcome per column, in spec order.
    pub columns: Vec<ColumnOutcome>,
    /// Drifted columns.
    pub drifted: usize,
    /// Tested columns (failed columns are not counted; Evidently would abort the report).
    pub total: usize,
    /// `drifted / total` (NaN when nothing was tested).
    pub share: f64,
    /// The threshold on `share`.
    pub drift_share: f64,
    /// `share >= drift_share`.
    pub drift: bool,
}

/// Drift of every column of two batches (columns in parallel on the rayon pool).
///
/// ```
/// use arrow::array::{ArrayRef, Float64Array, RecordBatch};
/// use mlops_monitor::{dataset_drift, DatasetSpec};
/// use std::sync::Arc;
/// let r: ArrayRef = Arc::new(Float64Array::from((0..200).map(f64::from).collect::<Vec<_>>()));
/// let c: ArrayRef = Arc::new(Float64Array::from((100..300).map(f64::from).collect::<Vec<_>>()));
/// let reference = RecordBatch::try_from_iter([("x", r)])?;
/// let current = RecordBatch::try_from_iter([("x", c)])?;
/// let d = dataset_drift(&reference, &current, &DatasetSpec::default())?;
/// assert_eq!((d.drifted, d.total, d.drift), (1, 1, true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] when a named column is absent from the reference. Per-column problems
/// (absent from current, unsupported type, empty side) become [`ColumnOutcome::Failed`].
pub fn dataset_drift(
    reference: &RecordBatch,
    current: &RecordBatch,
    spec: &DatasetSpec,
) -> Result<DatasetDrift> {
    let names: Vec<String> = match &spec.columns {
        Some(c) => c.clone(),
        None => reference
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect(),
    };
    for n in &names {
        if reference.column_by_name(n).is_none() {
            return Err(Error::Invalid(format!(
                "column {n:?} is not in the reference"
            )));
        }
    }
    let columns: Vec<ColumnOutcome> = names
        .par_iter()
        .map(|name| match one(reference, current, spec, name) {
            Ok(d) => ColumnOutcome::Tested(d),
            Err(e) => ColumnOutcome::Failed {
                column: name.clone(),
                error: e.to_string(),
            },
        })
        .collect();
    Ok(summarise(columns, spec.drift_share))
}

/// Counts drifted columns.
pub fn summarise(columns: Vec<ColumnOutcome>, drift_share: f64) -> DatasetDrift {
    let tested = columns
        .iter()
        .filter(|c| matches!(c, ColumnOutcome::Tested(_)))
        .count();
    let drifted = columns
        .iter()
        .filter(|c| matches!(c, ColumnOutcome::Tested(d) if d.drift))
        .count();
    let share = drifted as f64 / tested as f64;
    DatasetDrift {
        columns,
        drifted,
        total: tested,
        share,
        drift_share,
        drift: share >= drift_share,
    }
}

fn one(
    reference: &RecordBatch,
    current: &RecordBatch,
    spec: &DatasetSpec,
    name: &str,
) -> Result<ColumnDrift> {
    let r = reference
        .column_by_name(name)
        .ok_or_else(|| Error::Invalid(format!("column {name:?} is not in the reference")))?;
    let c = current
        .column_by_name(name)
        .ok_or_else(|| Error::Invalid(format!("column {name:?} is not in the current data")))?;
    let kind = match spec.kinds.get(name) {
        Some(k) => *k,
        None => ColumnKind::infer(r.data_type()).ok_or_else(|| {
            Error::Invalid(format!(
                "column {name:?}: cannot infer a kind for Arrow type {}",
                r.data_type()
            ))
        })?,
    };
    let rs = Sample::from_arrow(r.as_ref(), kind)?;
    let cs = Sample::from_arrow(c.as_ref(), kind)?;
    let opts = spec.per_column.get(name).unwrap_or(&spec.options);
    column_drift(name, &rs, &cs, opts)
}
