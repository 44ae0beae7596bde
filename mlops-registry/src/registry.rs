//! The [`ModelRegistry`] trait and its conveniences ([`RegistryExt`]).

use crate::error::{Error, Result};
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionStatus, VersionUpdate,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use std::sync::Arc;

/// A model registry: registered models, their numbered versions, aliases, tags
/// and verified artifacts.
///
/// # Contract
/// - Version numbers start at 1 and grow by one per model. Backends with
///   [`Capabilities::gap_free_versions`] guarantee no gaps and no duplicates even
///   when many processes create versions of one model at once.
/// - A version's artifacts and metadata never change after creation; only its
///   description, tags and status do. `manifest_digest` is its content identity.
/// - A version is visible only once complete: a crash mid-create leaves nothing.
/// - Names are validated with `mlops_core::name` before any remote call.
/// - An operation outside [`ModelRegistry::capabilities`] returns `Unsupported`;
///   it never silently does nothing.
///
/// # Wrappers
/// Layers (audit, governance, retry) wrap an `Arc<dyn ModelRegistry>` and forward
/// every method. `Arc<T>` and `Box<T>` implement the trait too.
///
/// # Clone
/// Pass registries around as `Arc<dyn ModelRegistry>`; backends are cheap to share.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use mlops_registry::{EmbeddedRegistry, ModelRegistry, RegistryExt, NewModelVersion};
/// use mlops_core::{Principal, name::ModelName, path::ArtifactPath};
/// let reg = EmbeddedRegistry::builder().with_url("memory://").build()?;
/// let name: ModelName = "fraud".parse()?;
/// reg.create_model(&name).await?;
/// let v = reg
///     .create_version(&name, NewModelVersion::new(&Principal::user("alice"))
///         .with_artifact(ArtifactPath::new("model.bin")?, "weights"))
///     .await?;
/// assert_eq!(v.version, 1);
/// let bytes = reg.get_artifact(&name, 1, &ArtifactPath::new("model.bin")?).await?;
/// assert_eq!(&bytes[..], b"weights");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait ModelRegistry: std::fmt::Debug + std::fmt::Display + Send + Sync + 'static {
    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// A stable URI naming this registry (used in lineage and promotion ledger keys).
    fn uri(&self) -> String;

    /// Registers a model.
    ///
    /// **Behavior**: not idempotent; exactly one of several racing creators wins.
    ///
    /// # Errors
    /// `AlreadyExists` if a live model has this name; store failures.
    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel>;

    /// Reads a model.
    ///
    /// # Errors
    /// `NotFound` for an unknown (or deleted) model.
    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel>;

    /// Lists models matching `query`, sorted by name, one page at a time.
    ///
    /// **Behavior**: pages are stable under concurrent creates (token = last name).
    ///
    /// # Errors
    /// `InvalidArgument` for a page size outside 1..=1000.
    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>>;

    /// Changes a model's description and tags (needs `model_tags` for tags).
    ///
    /// # Errors
    /// `NotFound`; `InvalidArgument` for a bad tag key.
    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel>;

    /// Deletes a model with all its versions and aliases (needs `delete_models`).
    /// Version numbers are never reused, even if the name is registered again.
    ///
    /// # Errors
    /// `NotFound`; `Unsupported`.
    async fn delete_model(&self, name: &ModelName) -> Result<()>;

    /// Registers a new version: artifacts first, then the version record.
    ///
    /// **Behavior**: not idempotent; each call allocates the next number.
    ///
    /// # Errors
    /// `NotFound` for an unknown model; `InvalidArgument` for bad tags/metrics.
    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion>;

    /// Reads a version.
    ///
    /// # Errors
    /// `NotFound` for an unknown model or version.
    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion>;

    /// Lists a model's versions matching `query`, ascending, one page at a time.
    ///
    /// # Errors
    /// `NotFound` for an unknown model; `InvalidArgument` for a bad page size/token.
    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>>;

    /// Changes a version's description, tags or status (needs `version_tags`,
    /// `archive_versions` for those parts).
    ///
    /// # Errors
    /// `NotFound`; `Unsupported`; `InvalidArgument` for a bad tag key.
    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion>;

    /// Deletes a version and the aliases pointing at it (needs `delete_versions`).
    ///
    /// # Errors
    /// `NotFound`; `Unsupported`.
    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()>;

    /// Points `alias` at `version` (needs `native_aliases`).
    ///
    /// **Behavior**: idempotent; moves an existing alias.
    ///
    /// # Errors
    /// `NotFound` for an unknown model or version; `Unsupported`.
    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()>;

    /// Removes `alias` (needs `native_aliases`).
    ///
    /// # Errors
    /// `NotFound` if the alias is not set; `Unsupported`.
    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()>;

    /// The version `alias` names (needs `native_aliases`).
    ///
    /// # Errors
    /// `NotFound` if the alias is not set; `Unsupported`.
    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion>;

    /// Downloads one artifact file, verifying its digest against the manifest.
    ///
    /// # Errors
    /// `NotFound` for an unknown path; `Integrity` if the stored bytes do not
    /// match the manifest digest.
    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes>;
}

macro_rules! forward_impl {
    ($ty:ty) => {
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<T: ModelRegistry + ?Sized> ModelRegistry for $ty {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            fn uri(&self) -> String {
                (**self).uri()
            }
            async fn create_model_opts(
                &self,
                name: &ModelName,
                opts: CreateModelOptions,
            ) -> Result<RegisteredModel> {
                (**self).create_model_opts(name, opts).await
            }
            async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
                (**self).get_model(name).await
            }
            async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
                (**self).search_models(query).await
            }
            async fn update_model(
                &self,
                name: &ModelName,
                update: ModelUpdate,
            ) -> Result<RegisteredModel> {
                (**self).update_model(name, update).await
            }
            async fn delete_model(&self, name: &ModelName) -> Result<()> {
                (**self).delete_model(name).await
            }
            async fn create_version(
                &self,
                name: &ModelName,
                new: NewModelVersion,
            ) -> Result<ModelVersion> {
                (**self).create_version(name, new).await
            }
            async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
                (**self).get_version(name, version).await
            }
            async fn search_versions(
                &self,
                name: &ModelName,
                query: &VersionQuery,
            ) -> Result<Page<ModelVersion>> {
                (**self).search_versions(name, query).await
            }
            async fn update_version(
                &self,
                name: &ModelName,
                version: u64,
                update: VersionUpdate,
            ) -> Result<ModelVersion> {
                (**self).update_version(name, version, update).await
            }
            async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
                (**self).delete_version(name, version).await
            }
            async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
                (**self).set_alias(name, alias, version).await
            }
            async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
                (**self).delete_alias(name, alias).await
            }
            async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
                (**self).resolve_alias(name, alias).await
            }
            async fn get_artifact(
                &self,
                name: &ModelName,
                version: u64,
                path: &ArtifactPath,
            ) -> Result<Bytes> {
                (**self).get_artifact(name, version, path).await
            }
        }
    };
}

forward_impl!(Arc<T>);
forward_impl!(Box<T>);

/// Conveniences over any [`ModelRegistry`], implemented for all of them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_registry::Result<()> {
/// use mlops_registry::{EmbeddedRegistry, ModelRegistry, RegistryExt};
/// let reg = EmbeddedRegistry::builder().with_url("memory://").build()?;
/// let name = "churn".parse()?;
/// reg.create_model(&name).await?;
/// reg.set_model_tag(&name, "team", "risk").await?;
/// assert_eq!(reg.get_model(&name).await?.tags["team"], "risk");
/// assert_eq!(reg.latest_version(&name).await?, None);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait RegistryExt: ModelRegistry {
    /// Registers a model with no description or tags.
    ///
    /// # Errors
    /// As [`ModelRegistry::create_model_opts`].
    async fn create_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        self.create_model_opts(name, CreateModelOptions::default())
            .await
    }

    /// Creates the model unless it exists, then returns it.
    ///
    /// # Errors
    /// Store failures.
    async fn ensure_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        match self.create_model(name).await {
            Err(Error::ModelExists { .. }) => self.get_model(name).await,
            other => other,
        }
    }

    /// Sets one model tag.
    ///
    /// # Errors
    /// As [`ModelRegistry::update_model`].
    async fn set_model_tag(&self, name: &ModelName, key: &str, value: &str) -> Result<()> {
        self.update_model(name, ModelUpdate::default().set_tag(key, value))
            .await
            .map(drop)
    }

    /// Removes one model tag.
    ///
    /// # Errors
    /// As [`ModelRegistry::update_model`].
    async fn delete_model_tag(&self, name: &ModelName, key: &str) -> Result<()> {
        self.update_model(name, ModelUpdate::default().remove_tag(key))
            .await
            .map(drop)
    }

    /// Sets one version tag.
    ///
    /// # Errors
    /// As [`ModelRegistry::update_version`].
    async fn set_version_tag(
        &self,
        name: &ModelName,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<()> {
        self.update_version(name, version, VersionUpdate::default().set_tag(key, value))
            .await
            .map(drop)
    }

    /// Removes one version tag.
    ///
    /// # Errors
    /// As [`ModelRegistry::update_version`].
    async fn delete_version_tag(&self, name: &ModelName, version: u64, key: &str) -> Result<()> {
        self.update_version(name, version, VersionUpdate::default().remove_tag(key))
            .await
            .map(drop)
    }

    /// Archives a version.
    ///
    /// # Errors
    /// As [`ModelRegistry::update_version`].
    async fn archive_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        self.update_version(
            name,
            version,
            VersionUpdate::default().status(VersionStatus::Archived),
        )
        .await
    }

    /// The highest live version number, if any.
    ///
    /// # Errors
    /// As [`ModelRegistry::get_model`].
    async fn latest_version(&self, name: &ModelName) -> Result<Option<u64>> {
        Ok(self.get_model(name).await?.latest_version)
    }

    /// Every live version, following pages.
    ///
    /// # Errors
    /// As [`ModelRegistry::search_versions`].
    async fn all_versions(&self, name: &ModelName) -> Result<Vec<ModelVersion>> {
        let mut out = vec![];
        let mut q = VersionQuery {
            page_size: 1000,
            ..VersionQuery::default()
        };
        loop {
            let page = self.search_versions(name, &q).await?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) => q.page_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Every model, following pages.
    ///
    /// # Errors
    /// As [`ModelRegistry::search_models`].
    async fn all_models(&self) -> Result<Vec<RegisteredModel>> {
        let mut out = vec![];
        let mut q = ModelQuery {
            page_size: 1000,
            ..ModelQuery::default()
        };
        loop {
            let page = self.search_models(&q).await?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) => q.page_token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// Downloads every artifact of a version, each verified.
    ///
    /// # Errors
    /// As [`ModelRegistry::get_artifact`].
    async fn get_all_artifacts(
        &self,
        name: &ModelName,
        version: u64,
    ) -> Result<Vec<(ArtifactPath, Bytes)>> {
        let v = self.get_version(name, version).await?;
        let mut out = Vec::with_capacity(v.artifacts.len());
        for (path, _) in v.artifacts.iter() {
            out.push((path.clone(), self.get_artifact(name, version, path).await?));
        }
        Ok(out)
    }
}

impl<T: ModelRegistry + ?Sized> RegistryExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    fn _object_safe(_: &dyn ModelRegistry) {}

    #[test]
    fn dyn_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn ModelRegistry>();
        assert_send_sync::<Arc<dyn ModelRegistry>>();
    }
}
