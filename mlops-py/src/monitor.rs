//! Drift, fairness and performance over pyarrow arrays and tables (Arrow C data interface).
//!
//! Reports cross the boundary as JSON strings; the Python layer turns them into dataclasses.

use crate::errors::{IntoPyResult, invalid};
use arrow::array::ArrayData;
use arrow::array::{ArrayRef, RecordBatch, make_array};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow_pyarrow::{FromPyArrow, IntoPyArrow, PyArrowType, Table};
use mlops_monitor::{
    ColumnKind, DatasetSpec, DriftOptions, Family, Method, Sample, column_drift, dataset_drift,
    fairness::fairness_arrow, performance,
};
use pyo3::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// JSON text of a report.
pub(crate) fn json<T: Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(invalid)
}

/// One batch of a pyarrow Table (or RecordBatch), chunks concatenated.
pub(crate) fn batch_from_py(obj: &Bound<'_, PyAny>) -> PyResult<RecordBatch> {
    let table = Table::from_pyarrow_bound(obj)?;
    let (batches, schema): (Vec<RecordBatch>, SchemaRef) = table.into_inner();
    if batches.len() == 1 {
        if let Some(b) = batches.into_iter().next() {
            return Ok(b);
        }
        return Ok(RecordBatch::new_empty(schema));
    }
    concat_batches(&schema, &batches).map_err(invalid)
}

/// A pyarrow Table holding `batch`'s buffers (exported through the Arrow C data interface,
/// not copied).
pub(crate) fn table_to_py(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    Table::try_new(vec![batch], schema)
        .map_err(invalid)?
        .into_pyarrow(py)
}

fn kind(s: Option<&str>) -> PyResult<Option<ColumnKind>> {
    match s {
        None => Ok(None),
        Some("numerical") => Ok(Some(ColumnKind::Numerical)),
        Some("categorical") => Ok(Some(ColumnKind::Categorical)),
        Some(other) => Err(invalid(format!(
            "kind must be 'numerical' or 'categorical', not {other:?}"
        ))),
    }
}

fn options(method: Option<&str>, threshold: Option<f64>, family: &str) -> PyResult<DriftOptions> {
    let family = match family {
        "evidently" => Family::Evidently,
        "standard" => Family::Standard,
        other => {
            return Err(invalid(format!(
                "family must be 'evidently' or 'standard', not {other:?}"
            )));
        }
    };
    Ok(DriftOptions {
        method: method.map(Method::parse).transpose().py()?,
        threshold,
        family,
    })
}

/// Drift of one column: `reference` and `current` are pyarrow arrays. Returns JSON.
#[pyfunction]
#[pyo3(signature = (reference, current, column="value", kind=None, method=None, threshold=None, family="evidently"))]
#[allow(clippy::too_many_arguments)]
fn column_drift_json(
    py: Python<'_>,
    reference: PyArrowType<ArrayData>,
    current: PyArrowType<ArrayData>,
    column: &str,
    kind: Option<&str>,
    method: Option<&str>,
    threshold: Option<f64>,
    family: &str,
) -> PyResult<String> {
    let (r, c): (ArrayRef, ArrayRef) = (make_array(reference.0), make_array(current.0));
    let kind = match self::kind(kind)? {
        Some(k) => k,
        None => ColumnKind::infer(r.data_type())
            .ok_or_else(|| invalid(format!("cannot test a column of type {}", r.data_type())))?,
    };
    let opts = options(method, threshold, family)?;
    let d = py
        .detach(|| -> mlops_monitor::Result<_> {
            let rs = Sample::from_arrow(r.as_ref(), kind)?;
            let cs = Sample::from_arrow(c.as_ref(), kind)?;
            column_drift(column, &rs, &cs, &opts)
        })
        .py()?;
    json(&d)
}

/// Drift of every column of two pyarrow Tables. Returns JSON.
#[pyfunction]
#[pyo3(signature = (reference, current, columns=None, kinds=None, method=None, threshold=None, family="evidently", drift_share=0.5))]
#[allow(clippy::too_many_arguments)]
fn dataset_drift_json(
    py: Python<'_>,
    reference: &Bound<'_, PyAny>,
    current: &Bound<'_, PyAny>,
    columns: Option<Vec<String>>,
    kinds: Option<BTreeMap<String, String>>,
    method: Option<&str>,
    threshold: Option<f64>,
    family: &str,
    drift_share: f64,
) -> PyResult<String> {
    let r = batch_from_py(reference)?;
    let c = batch_from_py(current)?;
    let mut spec = DatasetSpec {
        columns,
        options: options(method, threshold, family)?,
        drift_share,
        ..DatasetSpec::default()
    };
    for (name, k) in kinds.unwrap_or_default() {
        if let Some(k) = kind(Some(&k))? {
            spec.kinds.insert(name, k);
        }
    }
    let d = py.detach(|| dataset_drift(&r, &c, &spec)).py()?;
    json(&d)
}

/// Fairness of binary predictions per group (fairlearn). Returns JSON.
#[pyfunction]
fn fairness_json(
    py: Python<'_>,
    y_true: PyArrowType<ArrayData>,
    y_pred: PyArrowType<ArrayData>,
    group: PyArrowType<ArrayData>,
) -> PyResult<String> {
    let (t, p, g) = (
        make_array(y_true.0),
        make_array(y_pred.0),
        make_array(group.0),
    );
    let r = py
        .detach(|| fairness_arrow(t.as_ref(), p.as_ref(), g.as_ref()))
        .py()?;
    json(&r)
}

/// Binary classification metrics (scikit-learn). Returns JSON.
#[pyfunction]
#[pyo3(signature = (y_true, y_pred, scores=None))]
fn classification_json(
    py: Python<'_>,
    y_true: Vec<i64>,
    y_pred: Vec<i64>,
    scores: Option<Vec<f64>>,
) -> PyResult<String> {
    let m = py
        .detach(|| performance::classification(&y_true, &y_pred, scores.as_deref()))
        .py()?;
    json(&m)
}

/// Regression metrics (scikit-learn). Returns JSON.
#[pyfunction]
fn regression_json(py: Python<'_>, y_true: Vec<f64>, y_pred: Vec<f64>) -> PyResult<String> {
    let m = py
        .detach(|| performance::regression(&y_true, &y_pred))
        .py()?;
    json(&m)
}

/// Adds the monitor functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(column_drift_json, m)?)?;
    m.add_function(wrap_pyfunction!(dataset_drift_json, m)?)?;
    m.add_function(wrap_pyfunction!(fairness_json, m)?)?;
    m.add_function(wrap_pyfunction!(classification_json, m)?)?;
    m.add_function(wrap_pyfunction!(regression_json, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_method_and_family() {
        let o = options(Some("psi"), Some(0.2), "standard");
        let o = o.ok();
        assert_eq!(
            o.map(|o| (o.method, o.threshold, o.family)),
            Some((Some(Method::Psi), Some(0.2), Family::Standard))
        );
    }
}
