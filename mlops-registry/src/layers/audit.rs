//! [`Audit`] / [`AuditLayer`] for [`ModelRegistry`].

use super::governed::{REGISTRY_METHODS, resource};
use crate::error::Result;
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionUpdate,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::Principal;
use mlops_core::audit::AuditLog;
use mlops_core::layer::{AuditSink, canonical};
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;

/// Builds [`Audit`] registries: the log, the acting principal, whether reads are
/// audited, and the environment (match the governance layer's).
#[derive(Debug, Clone)]
pub struct AuditLayer {
    sink: AuditSink,
    environment: Option<String>,
}

impl AuditLayer {
    /// Records `principal`'s mutating calls into `log`.
    pub fn new(log: AuditLog, principal: Principal) -> Self {
        Self {
            sink: AuditSink::new(log, principal),
            environment: None,
        }
    }

    /// Also records reads.
    pub fn with_audit_reads(mut self, yes: bool) -> Self {
        self.sink = self.sink.with_audit_reads(yes);
        self
    }

    /// Scopes recorded resources to `env`.
    pub fn with_environment(mut self, env: impl Into<String>) -> Self {
        self.environment = Some(env.into());
        self
    }

    /// Wraps `inner`.
    pub fn layer<T: ModelRegistry>(&self, inner: T) -> Audit<T> {
        Audit {
            inner,
            sink: self.sink.clone(),
            environment: self.environment.clone(),
        }
    }
}

/// A [`ModelRegistry`] that records every mutating call (and reads, if configured)
/// in an [`AuditLog`]: `PermissionDenied` from below is recorded as `denied`, other
/// errors as `failed(kind)`. Events are queued; call [`AuditLog::flush`] for durability.
#[derive(Debug)]
pub struct Audit<T> {
    inner: T,
    sink: AuditSink,
    environment: Option<String>,
}

impl<T> Audit<T> {
    /// The wrapped registry.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    fn rec<R>(
        &self,
        method: &str,
        name: Option<&ModelName>,
        alias: Option<&Alias>,
        args: &[&dyn std::fmt::Debug],
        r: &Result<R>,
    ) {
        if !self.sink.wants(&REGISTRY_METHODS, method) {
            return;
        }
        let res = resource(self.environment.as_deref(), name, alias);
        let outcome = r.as_ref().map(drop).map_err(|e| e.kind());
        self.sink.record(
            &REGISTRY_METHODS,
            method,
            res,
            &canonical(method, args),
            outcome,
        );
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Audit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Audit({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: ModelRegistry> ModelRegistry for Audit<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn uri(&self) -> String {
        self.inner.uri()
    }
    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel> {
        let s = format!("{opts:?}");
        let r = self.inner.create_model_opts(name, opts).await;
        self.rec("create_model_opts", Some(name), None, &[name, &s], &r);
        r
    }
    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        let r = self.inner.get_model(name).await;
        self.rec("get_model", Some(name), None, &[name], &r);
        r
    }
    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        let r = self.inner.search_models(query).await;
        self.rec("search_models", None, None, &[query], &r);
        r
    }
    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        let s = format!("{update:?}");
        let r = self.inner.update_model(name, update).await;
        self.rec("update_model", Some(name), None, &[name, &s], &r);
        r
    }
    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        let r = self.inner.delete_model(name).await;
        self.rec("delete_model", Some(name), None, &[name], &r);
        r
    }
    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        let s = format!("{new:?}");
        let r = self.inner.create_version(name, new).await;
        self.rec("create_version", Some(name), None, &[name, &s], &r);
        r
    }
    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        let r = self.inner.get_version(name, version).await;
        self.rec("get_version", Some(name), None, &[name, &version], &r);
        r
    }
    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        let r = self.inner.search_versions(name, query).await;
        self.rec("search_versions", Some(name), None, &[name, query], &r);
        r
    }
    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        let s = format!("{update:?}");
        let r = self.inner.update_version(name, version, update).await;
        self.rec(
            "update_version",
            Some(name),
            None,
            &[name, &version, &s],
            &r,
        );
        r
    }
    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        let r = self.inner.delete_version(name, version).await;
        self.rec("delete_version", Some(name), None, &[name, &version], &r);
        r
    }
    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
        let r = self.inner.set_alias(name, alias, version).await;
        self.rec(
            "set_alias",
            Some(name),
            Some(alias),
            &[name, alias, &version],
            &r,
        );
        r
    }
    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
        let r = self.inner.delete_alias(name, alias).await;
        self.rec("delete_alias", Some(name), Some(alias), &[name, alias], &r);
        r
    }
    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
        let r = self.inner.resolve_alias(name, alias).await;
        self.rec("resolve_alias", Some(name), Some(alias), &[name, alias], &r);
        r
    }
    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes> {
        let r = self.inner.get_artifact(name, version, path).await;
        self.rec(
            "get_artifact",
            Some(name),
            None,
            &[name, &version, path],
            &r,
        );
        r
    }
}
