//! The feature store's point-in-time join: entity rows in (pyarrow Table), training set out
//! (pyarrow Table). Both directions go through the Arrow C interfaces, so the result buffers
//! built in Rust are handed to pyarrow without a copy.

use crate::errors::{IntoPyResult, invalid};
use crate::monitor::{batch_from_py, table_to_py};
use crate::runtime::block_on;
use arrow::array::RecordBatch;
use mlops_features::{FeatureRef, HistoricalOptions, HistoricalView, SourceLocation};
use pyo3::prelude::*;
use std::time::Duration;

/// A source: a URL (`file:///...`, `s3://...`) or a local path.
fn source(s: &str) -> PyResult<SourceLocation> {
    if s.contains("://") {
        SourceLocation::from_url(s).py()
    } else {
        SourceLocation::from_path(std::path::Path::new(s)).py()
    }
}

/// One view: `(name, source, join_keys, timestamp_field, created_field, ttl_seconds)`.
type ViewSpec = (
    String,
    String,
    Option<Vec<String>>,
    String,
    Option<String>,
    f64,
);

fn view(v: ViewSpec) -> PyResult<HistoricalView> {
    let (name, src, keys, ts, created, ttl) = v;
    if !(ttl.is_finite() && ttl >= 0.0) {
        return Err(invalid(format!(
            "view {name}: ttl must be >= 0 seconds, got {ttl}"
        )));
    }
    let mut hv = HistoricalView::new(name, source(&src)?)
        .with_timestamp_field(ts)
        .with_created_field(created)
        .with_ttl(Duration::from_secs_f64(ttl));
    if let Some(k) = keys {
        hv = hv.with_join_keys(k);
    }
    Ok(hv)
}

/// `"view:feature"` → a [`FeatureRef`].
fn feature_ref(s: &str) -> PyResult<FeatureRef> {
    let (v, f) = s
        .split_once(':')
        .ok_or_else(|| invalid(format!("feature {s:?}: expected 'view:feature'")))?;
    FeatureRef::new(v, f).py()
}

/// The point-in-time join behind [`historical_features`]: the training set as Rust built it.
fn historical_batch(
    py: Python<'_>,
    entity: &Bound<'_, PyAny>,
    views: Vec<ViewSpec>,
    features: Vec<String>,
    full_feature_names: bool,
    entity_timestamp: Option<String>,
) -> PyResult<RecordBatch> {
    let entity = batch_from_py(entity)?;
    let views = views.into_iter().map(view).collect::<PyResult<Vec<_>>>()?;
    let refs = features
        .iter()
        .map(|s| feature_ref(s))
        .collect::<PyResult<Vec<_>>>()?;
    let mut opts = HistoricalOptions::default().with_full_feature_names(full_feature_names);
    if let Some(ts) = entity_timestamp {
        opts = opts.with_entity_timestamp(ts);
    }
    block_on(
        py,
        mlops_features::get_historical_features(&[entity], &views, &refs, &opts),
    )?
    .py()
}

/// Point-in-time correct training set; returns a pyarrow Table.
#[pyfunction]
#[pyo3(signature = (entity, views, features, full_feature_names=true, entity_timestamp=None))]
fn historical_features<'py>(
    py: Python<'py>,
    entity: &Bound<'py, PyAny>,
    views: Vec<ViewSpec>,
    features: Vec<String>,
    full_feature_names: bool,
    entity_timestamp: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let out = historical_batch(
        py,
        entity,
        views,
        features,
        full_feature_names,
        entity_timestamp,
    )?;
    table_to_py(py, out)
}

/// [`historical_features`] for the zero-copy test: the pyarrow Table and, per column, the
/// buffer addresses of the batch as Rust built it (pyarrow's `Array.buffers()` order).
#[pyfunction]
#[pyo3(signature = (entity, views, features, full_feature_names=true, entity_timestamp=None))]
#[allow(clippy::type_complexity)]
fn _historical_features_traced<'py>(
    py: Python<'py>,
    entity: &Bound<'py, PyAny>,
    views: Vec<ViewSpec>,
    features: Vec<String>,
    full_feature_names: bool,
    entity_timestamp: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Vec<Vec<Option<usize>>>)> {
    let out = historical_batch(
        py,
        entity,
        views,
        features,
        full_feature_names,
        entity_timestamp,
    )?;
    let addresses = crate::introspect::batch_addresses(&out);
    Ok((table_to_py(py, out)?, addresses))
}

/// Adds the feature functions to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(historical_features, m)?)?;
    m.add_function(wrap_pyfunction!(_historical_features_traced, m)?)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_refs_need_a_view() {
        let r = feature_ref("fv0:conv_rate").ok();
        assert_eq!(
            r.as_ref().map(|r| (r.view(), r.feature())),
            Some(("fv0", "conv_rate"))
        );
        assert!(feature_ref("conv_rate").is_err());
    }
}

/// A feature store: versioned definitions on an object store, plus an embedded online store.
#[pyclass(name = "FeatureStore", module = "mlops._mlops", frozen)]
struct PyFeatureStore {
    store: mlops_features::FeatureStore,
    online: mlops_features::EmbeddedOnlineStore,
}

fn micros(us: i64) -> PyResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(us)
        .ok_or_else(|| invalid(format!("time {us} µs out of range")))
}

fn refs(features: &[String]) -> PyResult<Vec<FeatureRef>> {
    features.iter().map(|s| feature_ref(s)).collect()
}

#[pymethods]
impl PyFeatureStore {
    /// `online_path`: a redb file for the online store; in memory when `None`.
    #[new]
    #[pyo3(signature = (uri, online_path=None))]
    fn new(uri: &str, online_path: Option<String>) -> PyResult<Self> {
        let _g = crate::runtime::runtime()?.enter();
        let storage = mlops_core::Storage::from_url(uri).py()?;
        let b = mlops_features::EmbeddedOnlineStore::builder();
        let online = match online_path {
            Some(p) => b.with_path(p),
            None => b.in_memory(),
        }
        .build()
        .py()?;
        Ok(Self {
            store: mlops_features::FeatureStore::new(storage).py()?,
            online,
        })
    }

    /// Applies definitions (serialised `Definitions`); returns the new version.
    fn apply_json(&self, py: Python<'_>, definitions_json: &str) -> PyResult<u64> {
        let d: mlops_features::Definitions = serde_json::from_str(definitions_json)
            .map_err(|e| invalid(format!("definitions: {e}")))?;
        block_on(py, self.store.apply(&d))?.py()
    }

    #[pyo3(signature = (entity, features, full_feature_names=true))]
    fn historical<'py>(
        &self,
        py: Python<'py>,
        entity: &Bound<'py, PyAny>,
        features: Vec<String>,
        full_feature_names: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let entity = batch_from_py(entity)?;
        let refs = refs(&features)?;
        let opts = HistoricalOptions::default().with_full_feature_names(full_feature_names);
        let out = block_on(
            py,
            self.store.get_historical_features(&[entity], &refs, &opts),
        )?
        .py()?;
        table_to_py(py, out)
    }

    /// Materializes `views` for event times in `[start_us, end_us]`; returns rows per view.
    fn materialize(
        &self,
        py: Python<'_>,
        views: Vec<String>,
        start_us: i64,
        end_us: i64,
    ) -> PyResult<Vec<(String, usize)>> {
        let (s, e) = (micros(start_us)?, micros(end_us)?);
        let names: Vec<&str> = views.iter().map(String::as_str).collect();
        let r = block_on(py, self.store.materialize(&self.online, &names, s, e))?.py()?;
        Ok(r.views.into_iter().map(|(v, n, _)| (v, n)).collect())
    }

    #[pyo3(signature = (entity, features, full_feature_names=true, now_us=None))]
    fn online<'py>(
        &self,
        py: Python<'py>,
        entity: &Bound<'py, PyAny>,
        features: Vec<String>,
        full_feature_names: bool,
        now_us: Option<i64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let entity = batch_from_py(entity)?;
        let refs = refs(&features)?;
        let mut opts =
            mlops_features::OnlineOptions::default().with_full_feature_names(full_feature_names);
        if let Some(n) = now_us {
            opts = opts.with_now(micros(n)?);
        }
        let out = block_on(
            py,
            self.store
                .get_online_features(&self.online, &entity, &refs, &opts),
        )?
        .py()?;
        table_to_py(py, out)
    }
}

/// Adds the feature-store class to the module.
pub(crate) fn register_store(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyFeatureStore>()?;
    Ok(())
}
