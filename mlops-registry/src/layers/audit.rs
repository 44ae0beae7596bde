//! [`ModelRegistry`] for [`Audit`] (the wrapper and its
//! [`AuditLayer`](mlops_core::layer::AuditLayer) builder are [`mlops_core::layer`]'s).

use super::governed::{REGISTRY_METHODS, resource};
use crate::error::Result;
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionUpdate,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::layer::Audit;
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;

/// Records a call of `a` (if its sink wants it) on `model:<name>` (see
/// [`resource`]), with the registry's method table.
fn rec<T, R>(
    a: &Audit<T>,
    method: &str,
    name: Option<&ModelName>,
    alias: Option<&Alias>,
    args: &[&dyn std::fmt::Debug],
    r: &Result<R>,
) {
    let outcome = r.as_ref().map(drop).map_err(|e| e.kind());
    let res = |env: Option<&str>| resource(env, name, alias);
    a.record_call(&REGISTRY_METHODS, method, res, args, outcome);
}

/// Records every mutating call (and reads, if configured) in an
/// [`AuditLog`](mlops_core::audit::AuditLog): `PermissionDenied` from below is
/// recorded as `denied`, other errors as `failed(kind)`.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: ModelRegistry> ModelRegistry for Audit<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }
    fn uri(&self) -> String {
        self.inner().uri()
    }
    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel> {
        let s = format!("{opts:?}");
        let r = self.inner().create_model_opts(name, opts).await;
        rec(self, "create_model_opts", Some(name), None, &[name, &s], &r);
        r
    }
    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        let r = self.inner().get_model(name).await;
        rec(self, "get_model", Some(name), None, &[name], &r);
        r
    }
    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        let r = self.inner().search_models(query).await;
        rec(self, "search_models", None, None, &[query], &r);
        r
    }
    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        let s = format!("{update:?}");
        let r = self.inner().update_model(name, update).await;
        rec(self, "update_model", Some(name), None, &[name, &s], &r);
        r
    }
    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        let r = self.inner().delete_model(name).await;
        rec(self, "delete_model", Some(name), None, &[name], &r);
        r
    }
    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        let s = format!("{new:?}");
        let r = self.inner().create_version(name, new).await;
        rec(self, "create_version", Some(name), None, &[name, &s], &r);
        r
    }
    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        let r = self.inner().get_version(name, version).await;
        rec(self, "get_version", Some(name), None, &[name, &version], &r);
        r
    }
    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        let r = self.inner().search_versions(name, query).await;
        rec(
            self,
            "search_versions",
            Some(name),
            None,
            &[name, query],
            &r,
        );
        r
    }
    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        let s = format!("{update:?}");
        let r = self.inner().update_version(name, version, update).await;
        rec(
            self,
            "update_version",
            Some(name),
            None,
            &[name, &version, &s],
            &r,
        );
        r
    }
    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        let r = self.inner().delete_version(name, version).await;
        rec(
            self,
            "delete_version",
            Some(name),
            None,
            &[name, &version],
            &r,
        );
        r
    }
    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
        let r = self.inner().set_alias(name, alias, version).await;
        rec(
            self,
            "set_alias",
            Some(name),
            Some(alias),
            &[name, alias, &version],
            &r,
        );
        r
    }
    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
        let r = self.inner().delete_alias(name, alias).await;
        rec(
            self,
            "delete_alias",
            Some(name),
            Some(alias),
            &[name, alias],
            &r,
        );
        r
    }
    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
        let r = self.inner().resolve_alias(name, alias).await;
        rec(
            self,
            "resolve_alias",
            Some(name),
            Some(alias),
            &[name, alias],
            &r,
        );
        r
    }
    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes> {
        let r = self.inner().get_artifact(name, version, path).await;
        rec(
            self,
            "get_artifact",
            Some(name),
            None,
            &[name, &version, path],
            &r,
        );
        r
    }
}
