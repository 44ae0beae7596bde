//! The MLflow Model Registry backend (MLflow 3.x REST, over mlops-core's wire client).
//!
//! | registry | MLflow |
//! |---|---|
//! | model (name, description, tags) | a registered model |
//! | version | a model version; `source` = `<run artifact root>/mlops/<id>/files` inside the run's artifacts |
//! | artifacts | uploaded through the server's artifact proxy under the run's artifact root (the lineage's MLflow run when it names one on this server, otherwise a registry-owned run in the experiment [`builder::DEFAULT_EXPERIMENT`]) |
//! | manifest digest | version tag `mlops.manifest_digest`; the manifest, lineage, signature, metrics and creator in `<id>/version.json` next to the files |
//! | status | version tag `mlops.status` (`ready`/`archived`): MLflow stages are deprecated |
//! | aliases | native registered-model aliases |
//!
//! Naming: model names and aliases follow the portable `mlops_core::name` rules
//! (MLflow accepts more; its reserved aliases `latest` and `v<digits>` fail
//! the portable alias rule already), and tag keys starting with `mlops.` are reserved by this backend. Version numbers
//! come from MLflow: a re-created model numbers its versions from 1 again.
//!
//! ```
//! use mlops_registry::mlflow::MlflowRegistry;
//! let reg = MlflowRegistry::builder().with_url("http://127.0.0.1:5000").build()?;
//! assert_eq!(reg.to_string(), "MlflowRegistry(http://127.0.0.1:5000)");
//! # Ok::<(), mlops_registry::Error>(())
//! ```

pub mod builder;

pub use builder::{DEFAULT_EXPERIMENT, ENV_VARS, MlflowRegistryBuilder};

use crate::error::{Error, Result};
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionStatus, VersionUpdate, check_page_size, validate_tags,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use mlops_core::blob::{BlobRef, Manifest};
use mlops_core::mlflow::MlflowClient;
use mlops_core::mlflow::registry::{WireModelVersion, WireRegisteredModel, filter_literal};
use mlops_core::mlflow::types::KeyValue;
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::{Digest, ErrorKind, LineageRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The backend name in errors.
pub const BACKEND: &str = "mlflow";
/// Version tag holding the manifest digest.
pub const DIGEST_TAG: &str = "mlops.manifest_digest";
/// Version tag holding the status.
pub const STATUS_TAG: &str = "mlops.status";
const RESERVED_PREFIX: &str = "mlops.";

/// A [`ModelRegistry`] on an MLflow tracking server. Build with [`MlflowRegistry::builder`].
pub struct MlflowRegistry {
    client: MlflowClient,
    experiment: String,
    experiment_id: tokio::sync::OnceCell<String>,
    /// Serialises version creation in this process: a 1-worker MLflow on sqlite
    /// runs out of its connection pool under many parallel creates.
    create_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for MlflowRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowRegistry")
            .field("client", &self.client)
            .field("experiment", &self.experiment)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for MlflowRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MlflowRegistry({})", self.client.base_url())
    }
}

/// The immutable part of a version, in `version.json` beside its files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct VersionMeta {
    manifest: serde_json::Value,
    lineage: LineageRef,
    signature: Option<serde_json::Value>,
    metrics: BTreeMap<String, f64>,
    creator: String,
    registered_at: DateTime<Utc>,
}

fn ms(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t).unwrap_or_default()
}

fn backend(msg: impl Into<String>) -> Error {
    mlops_core::Error::backend(BACKEND, msg.into()).into()
}

/// Checks tag keys: the portable rule, and the `mlops.` prefix this backend reserves.
fn check_tags<'a>(keys: impl IntoIterator<Item = &'a String> + Clone) -> Result<()> {
    validate_tags(keys.clone())?;
    for k in keys {
        if k.starts_with(RESERVED_PREFIX) {
            return Err(mlops_core::Error::invalid(
                "mlflow tag key",
                k.as_str(),
                "tag keys starting with 'mlops.' are reserved by the MLflow registry backend",
            )
            .into());
        }
    }
    Ok(())
}

fn user_tags(tags: &[KeyValue]) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|t| !t.key.starts_with(RESERVED_PREFIX))
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

impl MlflowRegistry {
    /// A builder.
    pub fn builder() -> MlflowRegistryBuilder {
        MlflowRegistryBuilder::new()
    }

    fn new(client: MlflowClient, experiment: String) -> Self {
        Self {
            client,
            experiment,
            experiment_id: tokio::sync::OnceCell::new(),
            create_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The wire client (for calls the trait does not cover).
    pub fn client(&self) -> &MlflowClient {
        &self.client
    }

    async fn experiment_id(&self) -> Result<&String> {
        self.experiment_id
            .get_or_try_init(|| async {
                match self.client.get_experiment_by_name(&self.experiment).await {
                    Ok(e) => Ok(e.experiment_id),
                    Err(e) if e.kind() == ErrorKind::NotFound => {
                        match self.client.create_experiment(&self.experiment, &[]).await {
                            Ok(id) => Ok(id),
                            // another process created it meanwhile
                            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(self
                                .client
                                .get_experiment_by_name(&self.experiment)
                                .await?
                                .experiment_id),
                            Err(e) => Err(Error::from(e)),
                        }
                    }
                    Err(e) => Err(e.into()),
                }
            })
            .await
    }

    /// The run whose artifact root receives the version: the lineage's run when
    /// it lives on this server, otherwise a new registry-owned run.
    async fn run_for(&self, name: &ModelName, lineage: &LineageRef) -> Result<(String, String)> {
        if let Some(r) = &lineage.run
            && r.tracking_uri.trim_end_matches('/') == self.client.base_url()
        {
            let run = self.client.get_run(&r.run_id).await?;
            return Ok((run.info.run_id, run.info.artifact_uri));
        }
        let exp = self.experiment_id().await?;
        let now = Utc::now().timestamp_millis();
        let tags = [KeyValue {
            key: "mlops.registered_model".into(),
            value: name.to_string(),
        }];
        let run = self
            .client
            .create_run(exp, Some(name.as_str()), now, &tags, None)
            .await?;
        Ok((run.info.run_id, run.info.artifact_uri))
    }

    fn model_of(m: WireRegisteredModel) -> Result<RegisteredModel> {
        let name: ModelName = m.name.parse()?;
        let latest = m
            .latest_versions
            .iter()
            .filter_map(|v| v.version.parse::<u64>().ok())
            .max();
        Ok(RegisteredModel {
            name,
            description: Some(m.description).filter(|d| !d.is_empty()),
            tags: user_tags(&m.tags),
            aliases: m
                .aliases
                .iter()
                .filter_map(|a| Some((a.alias.parse().ok()?, a.version.parse().ok()?)))
                .collect(),
            latest_version: latest,
            created_at: ms(m.creation_timestamp),
            updated_at: ms(m.last_updated_timestamp),
        })
    }

    async fn meta_of(&self, v: &WireModelVersion) -> Result<Option<(Manifest, VersionMeta)>> {
        let Some(dir) = v.source.strip_suffix("/files") else {
            return Ok(None);
        };
        if !v.tags.iter().any(|t| t.key == DIGEST_TAG) {
            return Ok(None);
        }
        let bytes = self.client.download_artifact(dir, "version.json").await?;
        let meta: VersionMeta = serde_json::from_slice(&bytes)
            .map_err(|e| backend(format!("version.json of {}/{}: {e}", v.name, v.version)))?;
        let manifest = Manifest::from_json(
            &serde_json::to_vec(&meta.manifest).map_err(|e| backend(e.to_string()))?,
        )?;
        Ok(Some((manifest, meta)))
    }

    async fn version_of(&self, name: &ModelName, v: WireModelVersion) -> Result<ModelVersion> {
        let version: u64 = v
            .version
            .parse()
            .map_err(|_| backend(format!("version {:?} is not a number", v.version)))?;
        let tag = |k: &str| v.tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        let status = match tag(STATUS_TAG).as_deref() {
            Some("archived") => VersionStatus::Archived,
            _ => VersionStatus::Ready,
        };
        let (artifacts, meta) = match self.meta_of(&v).await? {
            Some((m, meta)) => (m, Some(meta)),
            None => (Manifest::new(), None),
        };
        let manifest_digest = artifacts.digest();
        if let Some(recorded) = tag(DIGEST_TAG)
            && recorded != manifest_digest.to_string()
        {
            return Err(mlops_core::Error::Integrity {
                what: format!("manifest of {name} version {version}"),
                expected: recorded,
                actual: manifest_digest.to_string(),
            }
            .into());
        }
        let (lineage, signature, metrics, creator) = match meta {
            Some(m) => (m.lineage, m.signature, m.metrics, m.creator),
            None => (LineageRef::default(), None, BTreeMap::new(), String::new()),
        };
        Ok(ModelVersion {
            model: name.clone(),
            version,
            description: Some(v.description.clone()).filter(|d| !d.is_empty()),
            tags: user_tags(&v.tags),
            status,
            artifacts,
            manifest_digest,
            artifact_uri: v.source.clone(),
            lineage,
            signature,
            metrics,
            creator,
            aliases: v.aliases.iter().filter_map(|a| a.parse().ok()).collect(),
            created_at: ms(v.creation_timestamp),
            updated_at: ms(v.last_updated_timestamp),
        })
    }

    async fn wire_version(&self, name: &ModelName, version: u64) -> Result<WireModelVersion> {
        self.client
            .get_model_version(name.as_str(), version)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::VersionNotFound {
                    model: name.to_string(),
                    version,
                },
                _ => e.into(),
            })
    }

    fn model_err(name: &ModelName, e: mlops_core::Error) -> Error {
        match e.kind() {
            ErrorKind::NotFound => Error::ModelNotFound {
                model: name.to_string(),
            },
            ErrorKind::AlreadyExists => Error::ModelExists {
                model: name.to_string(),
            },
            _ => e.into(),
        }
    }
}

#[async_trait]
impl ModelRegistry for MlflowRegistry {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // MLflow numbers versions in one SQL transaction but gives no
            // guarantee across a deleted-and-recreated model; deletes leave gaps.
            gap_free_versions: false,
            ..Capabilities::all()
        }
    }

    fn uri(&self) -> String {
        self.client.base_url().to_string()
    }

    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel> {
        check_tags(opts.tags.keys())?;
        let tags: Vec<KeyValue> = opts
            .tags
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        let m = self
            .client
            .create_registered_model(name.as_str(), opts.description.as_deref(), &tags)
            .await
            .map_err(|e| Self::model_err(name, e))?;
        Self::model_of(m)
    }

    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        let m = self
            .client
            .get_registered_model(name.as_str())
            .await
            .map_err(|e| Self::model_err(name, e))?;
        Self::model_of(m)
    }

    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        check_page_size(query.page_size)?;
        let mut filters = vec![];
        if let Some(p) = &query.name_prefix {
            filters.push(format!("name LIKE {}", filter_literal(&format!("{p}%"))?));
        }
        if let Some((k, v)) = &query.tag {
            if k.contains('`') {
                return Err(mlops_core::Error::invalid(
                    "tag key",
                    k.as_str(),
                    "no '`' in MLflow filters",
                )
                .into());
            }
            filters.push(format!("tags.`{k}` = {}", filter_literal(v)?));
        }
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));
        let (models, next) = self
            .client
            .search_registered_models(
                filter.as_deref(),
                query.page_size,
                query.page_token.as_deref(),
            )
            .await?;
        let mut items = vec![];
        for m in models {
            // names MLflow accepts but the portable rule does not are skipped
            if m.name.parse::<ModelName>().is_ok() {
                items.push(Self::model_of(m)?);
            }
        }
        Ok(Page {
            items,
            next_page_token: next,
        })
    }

    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        check_tags(update.set_tags.keys())?;
        self.get_model(name).await?;
        let n = name.as_str();
        let e = |e| Self::model_err(name, e);
        if let Some(d) = &update.description {
            self.client
                .update_registered_model(n, d.as_deref().unwrap_or(""))
                .await
                .map_err(e)?;
        }
        for k in &update.remove_tags {
            match self.client.delete_registered_model_tag(n, k).await {
                Ok(()) => {}
                Err(x) if x.kind() == ErrorKind::NotFound => {}
                Err(x) => return Err(x.into()),
            }
        }
        for (k, v) in &update.set_tags {
            self.client
                .set_registered_model_tag(n, k, v)
                .await
                .map_err(e)?;
        }
        self.get_model(name).await
    }

    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        self.client
            .delete_registered_model(name.as_str())
            .await
            .map_err(|e| Self::model_err(name, e))
    }

    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        new.validate()?;
        check_tags(new.tags.keys())?;
        let _one_at_a_time = self.create_lock.lock().await;
        self.get_model(name).await?;
        let mut manifest = Manifest::new();
        for (p, b) in &new.artifacts {
            manifest.insert(
                p.clone(),
                BlobRef {
                    digest: Digest::of(b),
                    size: b.len() as u64,
                },
            )?;
        }
        let digest = manifest.digest();
        let meta = VersionMeta {
            manifest: serde_json::from_slice(&manifest.to_json())
                .map_err(|e| backend(e.to_string()))?,
            lineage: new.lineage.clone(),
            signature: new.signature,
            metrics: new.metrics,
            creator: new.creator,
            registered_at: Utc::now(),
        };
        let meta_bytes = serde_json::to_vec(&meta).map_err(|e| backend(e.to_string()))?;
        // One directory per registration, named by its own content: two versions
        // with the same files under one run never overwrite each other.
        let id = Digest::of(&meta_bytes).to_hex();
        let (run_id, root) = self.run_for(name, &new.lineage).await?;
        let dir = format!("{}/mlops/{}", root.trim_end_matches('/'), &id[..32]);
        futures::future::try_join_all(new.artifacts.iter().map(|(p, b)| {
            let (dir, rel) = (&dir, format!("files/{p}"));
            async move { self.client.upload_artifact(dir, &rel, b.clone()).await }
        }))
        .await?;
        self.client
            .upload_artifact(&dir, "version.json", Bytes::from(meta_bytes))
            .await?;
        let mut tags: Vec<KeyValue> = new
            .tags
            .iter()
            .map(|(k, v)| KeyValue {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        tags.push(KeyValue {
            key: DIGEST_TAG.into(),
            value: digest.to_string(),
        });
        tags.push(KeyValue {
            key: STATUS_TAG.into(),
            value: VersionStatus::Ready.to_string(),
        });
        let v = self
            .client
            .create_model_version(
                name.as_str(),
                &format!("{dir}/files"),
                Some(&run_id),
                new.description.as_deref(),
                &tags,
            )
            .await
            .map_err(|e| Self::model_err(name, e))?;
        self.version_of(name, v).await
    }

    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        let v = self.wire_version(name, version).await?;
        self.version_of(name, v).await
    }

    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        check_page_size(query.page_size)?;
        // search does not return aliases (mlflow/mlflow#16734): they come from the model
        let model = self.get_model(name).await?;
        let mut filters = vec![format!("name = {}", filter_literal(name.as_str())?)];
        if let Some(s) = query.status {
            filters.push(format!("tags.`{STATUS_TAG}` = '{s}'"));
        }
        if let Some((k, v)) = &query.tag {
            if k.contains('`') {
                return Err(mlops_core::Error::invalid(
                    "tag key",
                    k.as_str(),
                    "no '`' in MLflow filters",
                )
                .into());
            }
            filters.push(format!("tags.`{k}` = {}", filter_literal(v)?));
        }
        let (versions, next) = self
            .client
            .search_model_versions(
                &filters.join(" AND "),
                query.page_size,
                query.page_token.as_deref(),
            )
            .await?;
        let mut items = Vec::with_capacity(versions.len());
        for v in versions {
            let mut mv = self.version_of(name, v).await?;
            mv.aliases = model
                .aliases
                .iter()
                .filter(|(_, n)| **n == mv.version)
                .map(|(a, _)| a.clone())
                .collect();
            items.push(mv);
        }
        items.sort_by_key(|v| v.version);
        Ok(Page {
            items,
            next_page_token: next,
        })
    }

    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        check_tags(update.set_tags.keys())?;
        self.wire_version(name, version).await?;
        let n = name.as_str();
        if let Some(d) = &update.description {
            self.client
                .update_model_version(n, version, d.as_deref().unwrap_or(""))
                .await?;
        }
        for k in &update.remove_tags {
            match self.client.delete_model_version_tag(n, version, k).await {
                Ok(()) => {}
                Err(x) if x.kind() == ErrorKind::NotFound => {}
                Err(x) => return Err(x.into()),
            }
        }
        for (k, v) in &update.set_tags {
            self.client.set_model_version_tag(n, version, k, v).await?;
        }
        if let Some(s) = update.status {
            self.client
                .set_model_version_tag(n, version, STATUS_TAG, &s.to_string())
                .await?;
        }
        self.get_version(name, version).await
    }

    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        self.client
            .delete_model_version(name.as_str(), version)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::VersionNotFound {
                    model: name.to_string(),
                    version,
                },
                _ => e.into(),
            })
    }

    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
        self.wire_version(name, version).await?;
        self.client
            .set_registered_model_alias(name.as_str(), alias.as_str(), version)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::VersionNotFound {
                    model: name.to_string(),
                    version,
                },
                _ => e.into(),
            })
    }

    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
        // MLflow deletes an unset alias silently; the trait reports it.
        let m = self.get_model(name).await?;
        if !m.aliases.contains_key(alias) {
            return Err(Error::AliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            });
        }
        self.client
            .delete_registered_model_alias(name.as_str(), alias.as_str())
            .await
            .map_err(|e| Self::model_err(name, e))
    }

    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
        self.get_model(name).await?;
        match self
            .client
            .get_model_version_by_alias(name.as_str(), alias.as_str())
            .await
        {
            Ok(v) => self.version_of(name, v).await,
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::AliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    async fn get_artifact(
        &self,
        name: &ModelName,
        version: u64,
        path: &ArtifactPath,
    ) -> Result<Bytes> {
        let v = self.get_version(name, version).await?;
        let blob = v.artifact(path)?;
        let bytes = self
            .client
            .download_artifact(&v.artifact_uri, path.as_str())
            .await?;
        let actual = Digest::of(&bytes);
        if actual != blob.digest {
            return Err(mlops_core::Error::Integrity {
                what: format!("{name} version {version} artifact {path}"),
                expected: blob.digest.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_say_which_rule() {
        // MLflow's reserved aliases (`latest`, `v<digits>`) fail the portable rule already
        let e = "v12".parse::<Alias>().unwrap_err();
        assert!(e.to_string().contains("'v<number>'"), "{e}");
        let k = "mlops.status".to_string();
        let e = check_tags([&k]).unwrap_err();
        assert!(
            e.to_string().contains("reserved by the MLflow registry"),
            "{e}"
        );
        let kv = [
            KeyValue {
                key: "team".into(),
                value: "a".into(),
            },
            KeyValue {
                key: STATUS_TAG.into(),
                value: "ready".into(),
            },
        ];
        assert_eq!(user_tags(&kv).len(), 1);
    }
}
