//! [`ModelRegistry`] for [`Governed`] (the wrapper and its
//! [`GovernanceLayer`](mlops_core::layer::GovernanceLayer) builder are
//! [`mlops_core::layer`]'s), and the registry's method table.

use crate::error::Result;
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionUpdate,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::layer::{Governed, scoped};
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::policy::{MethodRule, MethodTable};
use mlops_core::{Action, ResourceKind, ResourceRef};

/// The action each [`ModelRegistry`] method needs on `model:<name>`.
/// `capabilities` and `uri` are local metadata: listed as reads, never checked.
pub const REGISTRY_METHODS: MethodTable = MethodTable::new(
    "ModelRegistry",
    &[
        MethodRule::read("capabilities"),
        MethodRule::read("uri"),
        MethodRule::mutating("create_model_opts", Action::Write),
        MethodRule::read("get_model"),
        MethodRule::read("search_models"),
        MethodRule::mutating("update_model", Action::Write),
        MethodRule::mutating("delete_model", Action::Delete),
        MethodRule::mutating("create_version", Action::Write),
        MethodRule::read("get_version"),
        MethodRule::read("search_versions"),
        MethodRule::mutating("update_version", Action::Write),
        MethodRule::mutating("delete_version", Action::Delete),
        MethodRule::mutating("set_alias", Action::Promote),
        MethodRule::mutating("delete_alias", Action::Promote),
        MethodRule::read("resolve_alias"),
        MethodRule::read("get_artifact"),
    ],
);

/// The resource a registry call touches: `model:<name>` in `env`, alias calls in
/// the alias's environment (unless the layer fixes one), searches on `model:*`.
pub(crate) fn resource(
    env: Option<&str>,
    name: Option<&ModelName>,
    alias: Option<&Alias>,
) -> ResourceRef {
    let n = name.map_or_else(|| "*".to_string(), |n| n.to_string());
    let alias = alias.map(|a| a.to_string());
    scoped(ResourceKind::Model, n, env.or(alias.as_deref()))
}

/// What a governed registry call is checked on: `model:<name>` (see [`resource`]),
/// with the action from [`REGISTRY_METHODS`].
trait Check {
    async fn check(
        &self,
        method: &str,
        name: Option<&ModelName>,
        alias: Option<&Alias>,
    ) -> Result<()>;
}

impl<T> Check for Governed<T> {
    async fn check(
        &self,
        method: &str,
        name: Option<&ModelName>,
        alias: Option<&Alias>,
    ) -> Result<()> {
        let r = |env: Option<&str>| resource(env, name, alias);
        Ok(self.authorize(&REGISTRY_METHODS, method, r).await?)
    }
}

/// Checks every call against a policy first; refusals are `PermissionDenied`
/// naming principal, action and resource, and never reach `T`.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: ModelRegistry> ModelRegistry for Governed<T> {
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
        self.check("create_model_opts", Some(name), None).await?;
        self.inner().create_model_opts(name, opts).await
    }
    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        self.check("get_model", Some(name), None).await?;
        self.inner().get_model(name).await
    }
    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        self.check("search_models", None, None).await?;
        self.inner().search_models(query).await
    }
    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        self.check("update_model", Some(name), None).await?;
        self.inner().update_model(name, update).await
    }
    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        self.check("delete_model", Some(name), None).await?;
        self.inner().delete_model(name).await
    }
    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        self.check("create_version", Some(name), None).await?;
        self.inner().create_version(name, new).await
    }
    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        self.check("get_version", Some(name), None).await?;
        self.inner().get_version(name, version).await
    }
    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        self.check("search_versions", Some(name), None).await?;
        self.inner().search_versions(name, query).await
    }
    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        self.check("update_version", Some(name), None).await?;
        self.inner().update_version(name, version, update).await
    }
    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        self.check("delete_version", Some(name), None).await?;
        self.inner().delete_version(name, version).await
    }
    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
        self.check("set_alias", Some(name), Some(alias)).await?;
        self.inner().set_alias(name, alias, version).await
    }
    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
        self.check("delete_alias", Some(name), Some(alias)).await?;
        self.inner().delete_alias(name, alias).await
    }
    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
        self.check("resolve_alias", Some(name), Some(alias)).await?;
        self.inner().resolve_alias(name, alias).await
    }
    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes> {
        self.check("get_artifact", Some(name), None).await?;
        self.inner().get_artifact(name, version, path).await
    }
}
