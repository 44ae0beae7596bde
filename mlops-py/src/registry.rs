//! Model registry and promotion workflow: `Registry(uri)` wraps an `EmbeddedRegistry` and the
//! `Promotions` ledger kept beside it (`<uri>/promotions`).

use crate::errors::{IntoPyResult, invalid};
use crate::monitor::json;
use crate::runtime::{block_on, runtime};
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::{LineageRef, Principal, RunRef, Storage};
use mlops_registry::promotion::{Environments, PromotionRequest, Promotions};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::collections::BTreeMap;
use std::sync::Arc;

fn principal(s: &str) -> PyResult<Principal> {
    serde_json::from_str(s).map_err(|e| invalid(format!("principal: {e}")))
}

fn model(s: &str) -> PyResult<ModelName> {
    s.parse::<ModelName>().py()
}

fn request(s: &str) -> PyResult<PromotionRequest> {
    serde_json::from_str(s).map_err(|e| invalid(format!("promotion request: {e}")))
}

/// A registry over an object-store URL, with its promotion workflow.
#[pyclass(name = "Registry", module = "mlops._mlops", frozen)]
struct PyRegistry {
    embedded: EmbeddedRegistry,
    registry: Arc<dyn ModelRegistry>,
    promotions: Promotions,
}

#[pymethods]
impl PyRegistry {
    /// `environments_json`: a serialised `Environments` (default: development → qa →
    /// staging → production).
    #[new]
    #[pyo3(signature = (uri, options=None, environments_json=None))]
    fn new(
        uri: &str,
        options: Option<BTreeMap<String, String>>,
        environments_json: Option<&str>,
    ) -> PyResult<Self> {
        let _guard = runtime()?.enter();
        let mut options = options.unwrap_or_default();
        // `durability` is the registry's option (file://), not the store's
        let durability = options.remove("durability");
        let storage = Storage::from_url_opts(uri, options.clone()).py()?;
        let mut builder = EmbeddedRegistry::builder().with_storage(storage.clone());
        for (k, v) in options
            .into_iter()
            .chain(durability.map(|d| ("durability".into(), d)))
        {
            builder = builder.with_option(k, v);
        }
        let embedded = builder.build().py()?;
        let registry: Arc<dyn ModelRegistry> = Arc::new(embedded.clone());
        let mut promotions = Promotions::new(registry.clone(), storage.child("promotions").py()?);
        if let Some(e) = environments_json {
            let envs: Environments =
                serde_json::from_str(e).map_err(|e| invalid(format!("environments: {e}")))?;
            promotions = promotions.with_environments(envs);
        }
        Ok(Self {
            embedded,
            registry,
            promotions,
        })
    }

    #[getter]
    fn uri(&self) -> String {
        self.registry.uri()
    }

    /// Makes every change so far durable (the barrier of `durability="deferred"`).
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        block_on(py, self.embedded.flush())?.py()
    }

    fn create_model_json(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        let m = model(name)?;
        json(&block_on(py, self.registry.create_model(&m))?.py()?)
    }

    fn ensure_model_json(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        let m = model(name)?;
        json(&block_on(py, self.registry.ensure_model(&m))?.py()?)
    }

    fn get_model_json(&self, py: Python<'_>, name: &str) -> PyResult<String> {
        let m = model(name)?;
        json(&block_on(py, self.registry.get_model(&m))?.py()?)
    }

    /// A new version. `run`: `(tracking_uri, run_id)` lineage.
    #[pyo3(signature = (name, creator_json, artifacts=None, metrics=None, tags=None, description=None, run=None))]
    #[allow(clippy::too_many_arguments)]
    fn create_version_json(
        &self,
        py: Python<'_>,
        name: &str,
        creator_json: &str,
        artifacts: Option<BTreeMap<String, Vec<u8>>>,
        metrics: Option<BTreeMap<String, f64>>,
        tags: Option<BTreeMap<String, String>>,
        description: Option<String>,
        run: Option<(String, String)>,
    ) -> PyResult<String> {
        let m = model(name)?;
        let mut new = NewModelVersion::new(&principal(creator_json)?);
        for (p, bytes) in artifacts.unwrap_or_default() {
            new = new.with_artifact(ArtifactPath::new(&p).py()?, bytes);
        }
        for (k, v) in metrics.unwrap_or_default() {
            new = new.with_metric(k, v);
        }
        for (k, v) in tags.unwrap_or_default() {
            new = new.with_tag(k, v);
        }
        if let Some(d) = description {
            new = new.with_description(d);
        }
        if let Some((tracking_uri, run_id)) = run {
            new = new.with_lineage(LineageRef {
                run: Some(RunRef {
                    tracking_uri,
                    run_id,
                }),
                ..LineageRef::default()
            });
        }
        json(&block_on(py, self.registry.create_version(&m, new))?.py()?)
    }

    fn get_version_json(&self, py: Python<'_>, name: &str, version: u64) -> PyResult<String> {
        let m = model(name)?;
        json(&block_on(py, self.registry.get_version(&m, version))?.py()?)
    }

    fn get_artifact<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        version: u64,
        path: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (m, p) = (model(name)?, ArtifactPath::new(path).py()?);
        let b = block_on(py, self.registry.get_artifact(&m, version, &p))?.py()?;
        Ok(PyBytes::new(py, &b))
    }

    fn set_alias(&self, py: Python<'_>, name: &str, alias: &str, version: u64) -> PyResult<()> {
        let (m, a) = (model(name)?, alias.parse::<Alias>().py()?);
        block_on(py, self.registry.set_alias(&m, &a, version))?.py()
    }

    fn resolve_alias_json(&self, py: Python<'_>, name: &str, alias: &str) -> PyResult<String> {
        let (m, a) = (model(name)?, alias.parse::<Alias>().py()?);
        json(&block_on(py, self.registry.resolve_alias(&m, &a))?.py()?)
    }

    fn request_json(
        &self,
        py: Python<'_>,
        name: &str,
        version: u64,
        environment: &str,
        requester_json: &str,
        reason: &str,
    ) -> PyResult<String> {
        let (m, who) = (model(name)?, principal(requester_json)?);
        let r = block_on(
            py,
            self.promotions
                .request(&m, version, environment, &who, reason),
        )?
        .py()?;
        json(&r)
    }

    fn approve(
        &self,
        py: Python<'_>,
        request_json: &str,
        by_json: &str,
        comment: &str,
    ) -> PyResult<()> {
        let (r, by) = (request(request_json)?, principal(by_json)?);
        block_on(py, self.promotions.approve(&r, &by, comment))?.py()
    }

    fn reject(
        &self,
        py: Python<'_>,
        request_json: &str,
        by_json: &str,
        reason: &str,
    ) -> PyResult<()> {
        let (r, by) = (request(request_json)?, principal(by_json)?);
        block_on(py, self.promotions.reject(&r, &by, reason))?.py()
    }

    /// Attaches a gate report (a serialised `mlops_core::GateReport`).
    fn attach_report(&self, py: Python<'_>, request_json: &str, report_json: &str) -> PyResult<()> {
        let r = request(request_json)?;
        let report =
            serde_json::from_str(report_json).map_err(|e| invalid(format!("gate report: {e}")))?;
        block_on(py, self.promotions.attach_report(&r, report))?.py()
    }

    fn promote_json(&self, py: Python<'_>, request_json: &str, by_json: &str) -> PyResult<String> {
        let (r, by) = (request(request_json)?, principal(by_json)?);
        json(&block_on(py, self.promotions.promote(&r, &by))?.py()?)
    }

    fn rollback_json(
        &self,
        py: Python<'_>,
        name: &str,
        environment: &str,
        by_json: &str,
        reason: &str,
    ) -> PyResult<String> {
        let (m, by) = (model(name)?, principal(by_json)?);
        json(&block_on(py, self.promotions.rollback(&m, environment, &by, reason))?.py()?)
    }

    fn deployed_json(&self, py: Python<'_>, name: &str, environment: &str) -> PyResult<String> {
        let m = model(name)?;
        json(&block_on(py, self.promotions.deployed(&m, environment))?.py()?)
    }

    fn export_deployments(&self, py: Python<'_>, environment: &str) -> PyResult<String> {
        block_on(py, self.promotions.export_deployments(environment))?.py()
    }
}

/// Adds the registry class to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRegistry>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principals_parse_from_json() {
        let p = principal(r#"{"id": "dana", "kind": "user", "roles": ["release-manager"]}"#).ok();
        assert_eq!(p.as_ref().map(|p| p.id.as_str()), Some("dana"));
        assert_eq!(p.map(|p| p.has_role("release-manager")), Some(true));
        assert!(principal("{}").is_err());
        assert!(model("Bad Name!").is_err());
    }
}
