//! Governance: a `Policy` (TOML/YAML) answering "may this principal do this?", and the
//! hash-chained `AuditLog` (record, query, verify).

use crate::errors::{IntoPyResult, invalid};
use crate::monitor::json;
use crate::runtime::block_on;
use mlops_core::audit::{AuditEvent, AuditLog, AuditQuery, Outcome};
use mlops_core::{Action, Policy, Principal, ResourceKind, ResourceRef, Storage};
use pyo3::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

fn principal(s: &str) -> PyResult<Principal> {
    serde_json::from_str(s).map_err(|e| invalid(format!("principal: {e}")))
}

fn resource(kind: &str, name: &str, env: Option<&str>) -> PyResult<ResourceRef> {
    let r = ResourceRef::new(kind.parse::<ResourceKind>().py()?, name);
    Ok(match env {
        Some(e) => r.in_env(e),
        None => r,
    })
}

/// A governance policy.
#[pyclass(name = "Policy", module = "mlops._mlops", frozen)]
struct PyPolicy {
    inner: Arc<Policy>,
}

#[pymethods]
impl PyPolicy {
    #[staticmethod]
    fn from_toml(src: &str) -> PyResult<Self> {
        Ok(Self {
            inner: Arc::new(Policy::from_toml(src).py()?),
        })
    }

    #[staticmethod]
    fn from_yaml(src: &str) -> PyResult<Self> {
        Ok(Self {
            inner: Arc::new(Policy::from_yaml(src).py()?),
        })
    }

    /// Whether `principal` may do `action` on `kind:name[@env]`.
    #[pyo3(signature = (principal_json, action, kind, name, env=None))]
    fn allows(
        &self,
        principal_json: &str,
        action: &str,
        kind: &str,
        name: &str,
        env: Option<&str>,
    ) -> PyResult<bool> {
        let p = principal(principal_json)?;
        let a = action.parse::<Action>().py()?;
        Ok(self
            .inner
            .explain(&p, a, &resource(kind, name, env)?)
            .allowed)
    }

    fn roles_of(&self, principal_json: &str) -> PyResult<Vec<String>> {
        Ok(self.inner.roles_of(&principal(principal_json)?))
    }
}

/// A hash-chained audit log on an object-store URL.
#[pyclass(name = "AuditLog", module = "mlops._mlops", frozen)]
struct PyAuditLog {
    inner: Arc<AuditLog>,
}

#[pymethods]
impl PyAuditLog {
    #[new]
    fn new(py: Python<'_>, uri: &str) -> PyResult<Self> {
        let storage = {
            let _g = crate::runtime::runtime()?.enter();
            Storage::from_url(uri).py()?
        };
        let log = block_on(py, async move { AuditLog::open(&storage).await })?.py()?;
        Ok(Self {
            inner: Arc::new(log),
        })
    }

    /// Queues one event (written by `flush`).
    #[pyo3(signature = (principal_json, action, kind, name, outcome="allowed", env=None, details=None))]
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        principal_json: &str,
        action: &str,
        kind: &str,
        name: &str,
        outcome: &str,
        env: Option<&str>,
        details: Option<BTreeMap<String, String>>,
    ) -> PyResult<()> {
        let mut e = AuditEvent::new(
            &principal(principal_json)?,
            action.parse::<Action>().py()?,
            resource(kind, name, env)?,
            outcome.parse::<Outcome>().py()?,
        );
        for (k, v) in details.unwrap_or_default() {
            e = e.with_detail(k, v);
        }
        let _g = crate::runtime::runtime()?.enter();
        self.inner.record(e);
        Ok(())
    }

    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        block_on(py, self.inner.flush())?.py()
    }

    /// Events matching every given filter, as JSON.
    #[pyo3(signature = (principal=None, action=None, resource=None, outcome=None))]
    fn query_json(
        &self,
        py: Python<'_>,
        principal: Option<String>,
        action: Option<&str>,
        resource: Option<&str>,
        outcome: Option<&str>,
    ) -> PyResult<String> {
        let mut q = AuditQuery::new();
        if let Some(p) = principal {
            q = q.with_principal(p);
        }
        if let Some(a) = action {
            q = q.with_action(a.parse::<Action>().py()?);
        }
        if let Some(r) = resource {
            q = q.with_resource(r.parse().py()?);
        }
        if let Some(o) = outcome {
            q = q.with_outcome(o.parse::<Outcome>().py()?);
        }
        json(&block_on(py, self.inner.query(&q))?.py()?)
    }

    /// Verifies the hash chain: `(clean, records, broken_description)`.
    fn verify(&self, py: Python<'_>) -> PyResult<(bool, u64, Option<String>)> {
        let r = block_on(py, self.inner.verify())?.py()?;
        Ok((
            r.is_clean(),
            r.records,
            r.broken.as_ref().map(|b| format!("{b:?}")),
        ))
    }
}

/// Adds the governance classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPolicy>()?;
    m.add_class::<PyAuditLog>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_parse_kind_and_env() {
        let r = resource("model", "fraud", Some("production")).ok();
        assert_eq!(
            r.map(|r| r.to_string()),
            Some("model:fraud@production".to_string())
        );
        assert!(resource("planet", "x", None).is_err());
    }
}
