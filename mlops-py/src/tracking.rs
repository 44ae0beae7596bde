//! Experiment tracking: `Tracker` over any `mlops_tracking::Tracker` backend, and the
//! background `RunLogger`.

use crate::errors::{IntoPyResult, invalid};
use crate::monitor::{json, table_to_py};
use crate::runtime::{block_on, runtime};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use mlops_tracking::{
    Batch, CreateRun, Metric, RunLogger, RunLoggerOptions, RunStatus, SearchRuns, Tag, Tracker,
    TrackerExt, parse_url_opts,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

fn tags(t: Option<BTreeMap<String, String>>) -> Vec<Tag> {
    t.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| Tag::new(k, v))
        .collect()
}

fn status(s: &str) -> PyResult<RunStatus> {
    Ok(match s.to_ascii_uppercase().as_str() {
        "RUNNING" => RunStatus::Running,
        "SCHEDULED" => RunStatus::Scheduled,
        "FINISHED" => RunStatus::Finished,
        "FAILED" => RunStatus::Failed,
        "KILLED" => RunStatus::Killed,
        other => return Err(invalid(format!("unknown run status {other:?}"))),
    })
}

/// A tracker opened from a URL (`file:///...`, `memory://`, `s3://...`, `http://mlflow:5000`).
#[pyclass(name = "Tracker", module = "mlops._mlops", frozen)]
struct PyTracker {
    inner: Arc<dyn Tracker>,
}

#[pymethods]
impl PyTracker {
    #[new]
    #[pyo3(signature = (uri, options=None))]
    fn new(uri: &str, options: Option<BTreeMap<String, String>>) -> PyResult<Self> {
        let _guard = runtime()?.enter();
        let inner = parse_url_opts(uri, options.unwrap_or_default()).py()?;
        Ok(Self { inner })
    }

    #[getter]
    fn uri(&self) -> String {
        self.inner.uri()
    }

    #[pyo3(signature = (name, tags=None))]
    fn create_experiment(
        &self,
        py: Python<'_>,
        name: &str,
        tags: Option<BTreeMap<String, String>>,
    ) -> PyResult<String> {
        let t = self::tags(tags);
        block_on(py, self.inner.create_experiment(name, &t))?.py()
    }

    fn get_experiment_json(&self, py: Python<'_>, experiment_id: &str) -> PyResult<String> {
        json(&block_on(py, self.inner.get_experiment(experiment_id))?.py()?)
    }

    fn get_experiment_by_name_json(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        json(&block_on(py, self.inner.get_experiment_by_name(name))?.py()?)
    }

    #[pyo3(signature = (experiment_id, run_name=None, tags=None))]
    fn create_run_json(
        &self,
        py: Python<'_>,
        experiment_id: &str,
        run_name: Option<String>,
        tags: Option<BTreeMap<String, String>>,
    ) -> PyResult<String> {
        let req = CreateRun {
            run_name,
            tags: self::tags(tags),
            ..CreateRun::new(experiment_id)
        };
        json(&block_on(py, self.inner.create_run(&req))?.py()?)
    }

    fn get_run_json(&self, py: Python<'_>, run_id: &str) -> PyResult<String> {
        json(&block_on(py, self.inner.get_run(run_id))?.py()?)
    }

    fn end_run(&self, py: Python<'_>, run_id: &str, status: &str) -> PyResult<()> {
        let s = self::status(status)?;
        block_on(py, self.inner.end_run(run_id, s))?.py()?;
        Ok(())
    }

    /// `metrics`: `(key, value, step)` triples.
    #[pyo3(signature = (run_id, metrics=None, params=None, tags=None))]
    fn log_batch(
        &self,
        py: Python<'_>,
        run_id: &str,
        metrics: Option<Vec<(String, f64, i64)>>,
        params: Option<BTreeMap<String, String>>,
        tags: Option<BTreeMap<String, String>>,
    ) -> PyResult<()> {
        let mut b = Batch::new();
        for (k, v, s) in metrics.unwrap_or_default() {
            b = b.metric(Metric::new(k, v, s));
        }
        for (k, v) in params.unwrap_or_default() {
            b = b.param(k, v);
        }
        for (k, v) in tags.unwrap_or_default() {
            b = b.tag(k, v);
        }
        block_on(py, self.inner.log_batch(run_id, &b))?.py()
    }

    /// The history of `key` as a pyarrow Table (`step`, `timestamp`, `value`), ordered by step.
    fn metric_history<'py>(
        &self,
        py: Python<'py>,
        run_id: &str,
        key: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let points = block_on(py, self.inner.metric_history(run_id, key))?.py()?;
        let cols: Vec<(&str, ArrayRef)> = vec![
            (
                "key",
                Arc::new(StringArray::from_iter_values(
                    points.iter().map(|m| m.key.as_str()),
                )),
            ),
            (
                "step",
                Arc::new(Int64Array::from_iter_values(points.iter().map(|m| m.step))),
            ),
            (
                "timestamp",
                Arc::new(Int64Array::from_iter_values(
                    points.iter().map(|m| m.timestamp),
                )),
            ),
            (
                "value",
                Arc::new(Float64Array::from_iter_values(
                    points.iter().map(|m| m.value),
                )),
            ),
        ];
        let batch = RecordBatch::try_from_iter(cols).map_err(invalid)?;
        table_to_py(py, batch)
    }

    /// Stores `data` at `path`; returns `(path, size, digest)`.
    fn log_artifact(
        &self,
        py: Python<'_>,
        run_id: &str,
        path: &str,
        data: Vec<u8>,
    ) -> PyResult<(String, u64, String)> {
        let a = block_on(py, self.inner.log_artifact(run_id, path, data.into()))?.py()?;
        Ok((a.path, a.size, a.digest.to_string()))
    }

    fn download_artifact<'py>(
        &self,
        py: Python<'py>,
        run_id: &str,
        path: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let b = block_on(py, self.inner.download_artifact(run_id, path))?.py()?;
        Ok(PyBytes::new(py, &b))
    }

    #[pyo3(signature = (experiment_ids, filter="", order_by=None, max_results=1000))]
    fn search_runs_json(
        &self,
        py: Python<'_>,
        experiment_ids: Vec<String>,
        filter: &str,
        order_by: Option<Vec<String>>,
        max_results: usize,
    ) -> PyResult<String> {
        let mut q = SearchRuns::new(experiment_ids)
            .with_filter(filter)
            .with_max_results(max_results);
        for o in order_by.unwrap_or_default() {
            q = q.with_order_by(o);
        }
        json(&block_on(py, self.inner.search_runs(&q))?.py()?.items)
    }
}

/// Non-blocking, batched logging for training loops: calls enqueue, a background task writes.
#[pyclass(name = "RunLogger", module = "mlops._mlops", frozen)]
struct PyRunLogger {
    inner: Mutex<Option<Arc<RunLogger>>>,
}

impl PyRunLogger {
    fn get(&self) -> PyResult<Arc<RunLogger>> {
        self.inner
            .lock()
            .map_err(|_| invalid("logger lock poisoned"))?
            .clone()
            .ok_or_else(|| invalid("the logger is closed"))
    }
}

#[pymethods]
impl PyRunLogger {
    #[new]
    fn new(tracker: &PyTracker, run_id: &str) -> PyResult<Self> {
        let _guard = runtime()?.enter();
        let l = RunLogger::new(tracker.inner.clone(), run_id, RunLoggerOptions::default());
        Ok(Self {
            inner: Mutex::new(Some(Arc::new(l))),
        })
    }

    fn log_metric(&self, py: Python<'_>, key: &str, value: f64, step: i64) -> PyResult<()> {
        let l = self.get()?;
        block_on(py, l.log_metric(key, value, step))?.py()
    }

    fn log_param(&self, py: Python<'_>, key: &str, value: &str) -> PyResult<()> {
        let l = self.get()?;
        block_on(py, l.log_param(key, value))?.py()
    }

    fn set_tag(&self, py: Python<'_>, key: &str, value: &str) -> PyResult<()> {
        let l = self.get()?;
        block_on(py, l.set_tag(key, value))?.py()
    }

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let l = self.get()?;
        block_on(py, l.flush())?.py()
    }

    /// Flushes and stops the background task. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let taken = self
            .inner
            .lock()
            .map_err(|_| invalid("logger lock poisoned"))?
            .take();
        let Some(l) = taken else { return Ok(()) };
        match Arc::try_unwrap(l) {
            Ok(l) => block_on(py, l.close())?.py(),
            // Another thread is mid-call; flushing is the best we can do.
            Err(l) => block_on(py, l.flush())?.py(),
        }
    }
}

/// Adds the tracking classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTracker>()?;
    m.add_class::<PyRunLogger>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_case_insensitively() {
        assert_eq!(status("finished").ok(), Some(RunStatus::Finished));
        assert_eq!(status("FAILED").ok(), Some(RunStatus::Failed));
        assert!(status("done").is_err());
    }
}
