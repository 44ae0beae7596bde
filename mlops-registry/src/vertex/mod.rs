//! The Vertex AI Model Registry backend.
//!
//! | registry | Vertex AI |
//! |---|---|
//! | model (name, description, tags) | a small state log in the artifact storage (`vertex/models/<name>/state/`, create-only sequenced keys): Vertex has no empty models — a model appears with its first upload |
//! | version | a model version (`models/<name>@<versionId>`), made by `models.upload` (`modelId` first, then `parentModel`) and its long-running operation |
//! | version description / tags / status | `versionDescription` / `labels` / label `mlops-status` (`models.patch`) |
//! | lineage, signature, metrics, creator, manifest digest | the immutable `metadata` of the version |
//! | artifacts | content-addressed blobs in the artifact storage; `artifactUri` when it is `gs://` |
//! | aliases | `versionAliases` (`mergeVersionAliases`); `default` is Vertex's and reserved |
//!
//! Naming rules checked before any call (errors name the rule): version tags are
//! Vertex labels (keys: lower-case letter first, then lower-case letters, digits,
//! `_`, `-`, at most 63; values: at most 63 of the same, may be empty); the
//! `mlops-` label prefix and the alias `default` are reserved.
//!
//! Known deviation: Vertex numbers a re-created model's versions from 1 again.
//!
//! ```
//! use mlops_registry::vertex::VertexRegistry;
//! let reg = VertexRegistry::builder()
//!     .with_project("acme-ml")
//!     .with_location("europe-west4")
//!     .with_static_token("ya29.token")
//!     .with_image("europe-docker.pkg.dev/acme/serve/xgb:1")
//!     .with_artifact_url("memory://")
//!     .build()?;
//! assert_eq!(reg.to_string(), "VertexRegistry(europe-west4)");
//! # Ok::<(), mlops_registry::Error>(())
//! ```

mod builder;
pub mod client;
pub mod lro;
pub mod token;

pub use builder::{ENV_VARS, VertexRegistryBuilder};
pub use lro::LroOptions;
pub use token::{
    BearerSigner, MetadataServer, ServiceAccount, ServiceAccountKey, StaticToken, TokenProvider,
};

use crate::artifacts::ArtifactStore;
use crate::error::{Error, Result};
use crate::registry::ModelRegistry;
use crate::types::{
    Capabilities, CreateModelOptions, ModelQuery, ModelUpdate, ModelVersion, NewModelVersion, Page,
    RegisteredModel, VersionQuery, VersionStatus, VersionUpdate, check_page_size, validate_tags,
};
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use client::{Model, VertexClient};
use mlops_core::blob::{BlobStore, Manifest};
use mlops_core::name::{Alias, ModelName};
use mlops_core::path::ArtifactPath;
use mlops_core::seq::SeqLog;
use mlops_core::{Digest, ErrorKind, LineageRef, Storage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The backend name in errors and audit events.
pub const BACKEND: &str = "vertex";

/// The label holding a version's status.
pub const STATUS_LABEL: &str = "mlops-status";

/// A [`ModelRegistry`] on Vertex AI. Build with [`VertexRegistry::builder`].
pub struct VertexRegistry {
    client: VertexClient,
    location: String,
    storage: Storage,
    artifacts: ArtifactStore,
    blobs: BlobStore,
    image: String,
    lro: LroOptions,
    create_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for VertexRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexRegistry")
            .field("parent", &self.client.parent())
            .field("storage", &self.storage.url())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for VertexRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VertexRegistry({})", self.location)
    }
}

/// A model's own state (Vertex has no model without a version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ModelState {
    description: Option<String>,
    tags: BTreeMap<String, String>,
    deleted: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The immutable part of a version, in `Model.metadata.mlops`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct VersionMeta {
    manifest: String,
    lineage: LineageRef,
    signature: Option<serde_json::Value>,
    metrics: BTreeMap<String, f64>,
    creator: String,
}

fn label_ok(s: &str, key: bool) -> bool {
    s.chars().count() <= 63
        && (!key || s.starts_with(|c: char| c.is_ascii_lowercase()))
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Checks version tags against Vertex's label rules.
///
/// # Errors
/// `InvalidArgument` naming the tag and the rule.
pub fn check_labels(tags: &BTreeMap<String, String>) -> Result<()> {
    for (k, v) in tags {
        if !label_ok(k, true) || k.starts_with("mlops-") {
            return Err(mlops_core::Error::invalid(
                "vertex label key",
                k.as_str(),
                "Vertex label keys start with a lower-case letter and hold at most 63 lower-case \
                 letters, digits, '_' and '-'; the prefix 'mlops-' is reserved",
            )
            .into());
        }
        if !label_ok(v, false) {
            return Err(mlops_core::Error::invalid(
                "vertex label value",
                format!("{k}={v}"),
                "Vertex label values hold at most 63 lower-case letters, digits, '_' and '-'",
            )
            .into());
        }
    }
    Ok(())
}

fn parse_time(s: Option<&str>) -> DateTime<Utc> {
    s.and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

impl VertexRegistry {
    /// A builder.
    pub fn builder() -> VertexRegistryBuilder {
        VertexRegistryBuilder::new()
    }

    /// The REST client (for calls the trait does not cover, e.g. `models.list` filters).
    pub fn client(&self) -> &VertexClient {
        &self.client
    }

    fn log(&self, name: &ModelName) -> Result<SeqLog> {
        Ok(SeqLog::new(
            &self.storage,
            &format!("vertex/models/{name}/state"),
        )?)
    }

    async fn state(&self, name: &ModelName) -> Result<Option<(u64, ModelState)>> {
        let log = self.log(name)?;
        let Some(head) = log.head().await? else {
            return Ok(None);
        };
        let s: ModelState = serde_json::from_slice(&log.get(head).await?).map_err(|e| {
            mlops_core::Error::backend(BACKEND, format!("model state of {name}: {e}"))
        })?;
        Ok(Some((head, s)))
    }

    async fn live(&self, name: &ModelName) -> Result<(u64, ModelState)> {
        match self.state(name).await? {
            Some((h, s)) if !s.deleted => Ok((h, s)),
            _ => Err(Error::ModelNotFound {
                model: name.to_string(),
            }),
        }
    }

    async fn put_state(&self, name: &ModelName, seq: u64, s: &ModelState) -> Result<bool> {
        let bytes = serde_json::to_vec(s)
            .map_err(|e| mlops_core::Error::backend(BACKEND, e.to_string()))?;
        Ok(self.log(name)?.try_put(seq, bytes.into()).await?)
    }

    fn vname(&self, name: &ModelName) -> String {
        self.client.model_name(name.as_str())
    }

    /// Every version of the Vertex model (none when it does not exist yet).
    async fn all_vertex_versions(&self, name: &ModelName) -> Result<Vec<Model>> {
        let mut out = vec![];
        let mut token: Option<String> = None;
        loop {
            let page = match self
                .client
                .list_versions(&self.vname(name), None, 100, token.as_deref())
                .await
            {
                Ok(p) => p,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
                Err(e) => return Err(e.into()),
            };
            out.extend(page.models);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    fn model_of(&self, name: &ModelName, s: ModelState, versions: &[Model]) -> RegisteredModel {
        let mut aliases = BTreeMap::new();
        let mut latest = None;
        for m in versions {
            let Some(v) = m.version_id.as_deref().and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            latest = latest.max(Some(v));
            for a in &m.version_aliases {
                if let Ok(a) = a.parse::<Alias>()
                    && a.as_str() != "default"
                {
                    aliases.insert(a, v);
                }
            }
        }
        RegisteredModel {
            name: name.clone(),
            description: s.description,
            tags: s.tags,
            aliases,
            latest_version: latest,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }

    async fn version_of(&self, name: &ModelName, m: Model) -> Result<ModelVersion> {
        let version = m
            .version_id
            .as_deref()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| mlops_core::Error::backend(BACKEND, "version without versionId"))?;
        let meta: Option<VersionMeta> = m
            .metadata
            .as_ref()
            .and_then(|md| md.get("mlops"))
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        let (manifest_digest, artifacts, meta) = match meta {
            Some(meta) => {
                let d: Digest = meta.manifest.parse()?;
                (d, self.blobs.get_manifest(&d).await?, Some(meta))
            }
            None => (Manifest::new().digest(), Manifest::new(), None),
        };
        let mut tags = m.labels.clone();
        let status = match tags.remove(STATUS_LABEL).as_deref() {
            Some("archived") => VersionStatus::Archived,
            _ => VersionStatus::Ready,
        };
        let meta = meta.unwrap_or(VersionMeta {
            manifest: manifest_digest.to_string(),
            lineage: LineageRef::default(),
            signature: None,
            metrics: BTreeMap::new(),
            creator: String::new(),
        });
        let created = parse_time(m.version_create_time.as_deref());
        Ok(ModelVersion {
            model: name.clone(),
            version,
            description: m.version_description.filter(|d| !d.is_empty()),
            tags,
            status,
            artifact_uri: self.artifacts.uri(name, &manifest_digest),
            artifacts,
            manifest_digest,
            lineage: meta.lineage,
            signature: meta.signature,
            metrics: meta.metrics,
            creator: meta.creator,
            aliases: m
                .version_aliases
                .iter()
                .filter(|a| *a != "default")
                .filter_map(|a| a.parse().ok())
                .collect(),
            created_at: created,
            updated_at: m
                .version_update_time
                .as_deref()
                .map_or(created, |t| parse_time(Some(t))),
        })
    }

    async fn get_vertex(&self, name: &ModelName, version: u64) -> Result<Model> {
        self.client
            .get_model(&format!("{}@{version}", self.vname(name)))
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => Error::VersionNotFound {
                    model: name.to_string(),
                    version,
                },
                _ => e.into(),
            })
    }

    fn check_alias(alias: &Alias) -> Result<()> {
        if alias.as_str() == "default" {
            return Err(mlops_core::Error::invalid(
                "vertex alias",
                "default",
                "'default' is Vertex AI's own alias for the default version",
            )
            .into());
        }
        Ok(())
    }

    async fn alias_holder(&self, name: &ModelName, alias: &Alias) -> Result<Option<Model>> {
        match self
            .client
            .get_model(&format!("{}@{alias}", self.vname(name)))
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl ModelRegistry for VertexRegistry {
    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    fn uri(&self) -> String {
        format!("vertex://{}", self.client.parent())
    }

    async fn create_model_opts(
        &self,
        name: &ModelName,
        opts: CreateModelOptions,
    ) -> Result<RegisteredModel> {
        validate_tags(opts.tags.keys())?;
        let next = match self.state(name).await? {
            Some((_, s)) if !s.deleted => {
                return Err(Error::ModelExists {
                    model: name.to_string(),
                });
            }
            Some((h, _)) => h + 1,
            None => 1,
        };
        let now = Utc::now();
        let s = ModelState {
            description: opts.description,
            tags: opts.tags,
            deleted: false,
            created_at: now,
            updated_at: now,
        };
        if !self.put_state(name, next, &s).await? {
            return Err(Error::ModelExists {
                model: name.to_string(),
            });
        }
        Ok(self.model_of(name, s, &[]))
    }

    async fn get_model(&self, name: &ModelName) -> Result<RegisteredModel> {
        let (_, s) = self.live(name).await?;
        let versions = self.all_vertex_versions(name).await?;
        Ok(self.model_of(name, s, &versions))
    }

    async fn search_models(&self, query: &ModelQuery) -> Result<Page<RegisteredModel>> {
        check_page_size(query.page_size)?;
        let root = self.storage.path("vertex/models")?;
        let listed = self
            .storage
            .store()
            .list_with_delimiter(Some(&root))
            .await
            .map_err(|e| mlops_core::Error::store(&root, e))?;
        let mut names: Vec<ModelName> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename()?.parse().ok())
            .filter(|n: &ModelName| {
                query
                    .name_prefix
                    .as_deref()
                    .is_none_or(|p| n.as_str().starts_with(p))
            })
            .filter(|n| query.page_token.as_deref().is_none_or(|t| n.as_str() > t))
            .collect();
        names.sort();
        let mut items = vec![];
        let mut next = None;
        for n in names {
            if items.len() == query.page_size {
                next = items.last().map(|m: &RegisteredModel| m.name.to_string());
                break;
            }
            let Some((_, s)) = self.state(&n).await? else {
                continue;
            };
            if s.deleted
                || query
                    .tag
                    .as_ref()
                    .is_some_and(|(k, v)| s.tags.get(k) != Some(v))
            {
                continue;
            }
            let versions = self.all_vertex_versions(&n).await?;
            items.push(self.model_of(&n, s, &versions));
        }
        Ok(Page {
            items,
            next_page_token: next,
        })
    }

    async fn update_model(&self, name: &ModelName, update: ModelUpdate) -> Result<RegisteredModel> {
        validate_tags(update.set_tags.keys())?;
        let (head, mut s) = self.live(name).await?;
        if let Some(d) = update.description {
            s.description = d;
        }
        for k in &update.remove_tags {
            s.tags.remove(k);
        }
        s.tags.extend(update.set_tags);
        s.updated_at = Utc::now();
        if !self.put_state(name, head + 1, &s).await? {
            return Err(mlops_core::Error::Conflict {
                entity: "model".into(),
                id: name.to_string(),
                reason: "changed concurrently; read it again".into(),
            }
            .into());
        }
        self.get_model(name).await
    }

    async fn delete_model(&self, name: &ModelName) -> Result<()> {
        let (head, mut s) = self.live(name).await?;
        match self.client.delete_model(&self.vname(name)).await {
            Ok(op) => {
                lro::wait(&self.client, op, self.lro).await?;
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        s.deleted = true;
        s.updated_at = Utc::now();
        self.put_state(name, head + 1, &s).await?;
        Ok(())
    }

    async fn create_version(&self, name: &ModelName, new: NewModelVersion) -> Result<ModelVersion> {
        new.validate()?;
        check_labels(&new.tags)?;
        let (_, state) = self.live(name).await?;
        let manifest = self.artifacts.put_all(name, &new.artifacts).await?;
        let meta = VersionMeta {
            manifest: manifest.digest().to_string(),
            lineage: new.lineage,
            signature: new.signature,
            metrics: new.metrics,
            creator: new.creator,
        };
        let mut labels = new.tags;
        labels.insert(STATUS_LABEL.into(), "ready".into());
        let uri = self.artifacts.uri(name, &manifest.digest());
        let model = Model {
            display_name: Some(name.to_string()),
            description: state.description,
            version_description: new.description,
            labels,
            metadata: Some(serde_json::json!({ "mlops": meta })),
            artifact_uri: uri.starts_with("gs://").then_some(uri),
            container_spec: Some(serde_json::json!({ "imageUri": self.image })),
            ..Model::default()
        };
        let response = {
            let _one_at_a_time = self.create_lock.lock().await;
            let exists = match self.client.get_model(&self.vname(name)).await {
                Ok(_) => true,
                Err(e) if e.kind() == ErrorKind::NotFound => false,
                Err(e) => return Err(e.into()),
            };
            let op = if exists {
                self.client
                    .upload(None, Some(&self.vname(name)), &model)
                    .await?
            } else {
                self.client
                    .upload(Some(name.as_str()), None, &model)
                    .await?
            };
            lro::wait(&self.client, op, self.lro).await?
        };
        let version = response["modelVersionId"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                mlops_core::Error::backend(BACKEND, format!("upload answered {response}"))
            })?;
        self.get_version(name, version).await
    }

    async fn get_version(&self, name: &ModelName, version: u64) -> Result<ModelVersion> {
        let m = self.get_vertex(name, version).await?;
        self.version_of(name, m).await
    }

    async fn search_versions(
        &self,
        name: &ModelName,
        query: &VersionQuery,
    ) -> Result<Page<ModelVersion>> {
        check_page_size(query.page_size)?;
        self.live(name).await?;
        let mut filters = vec![];
        if let Some(s) = query.status {
            filters.push(format!("labels.{STATUS_LABEL}={s}"));
        }
        if let Some((k, v)) = &query.tag {
            if !(label_ok(k, true) && label_ok(v, false)) {
                // no version can carry a tag that is not a legal label
                return Ok(Page {
                    items: vec![],
                    next_page_token: None,
                });
            }
            filters.push(format!("labels.{k}={v}"));
        }
        let filter = (!filters.is_empty()).then(|| filters.join(" AND "));
        let page = match self
            .client
            .list_versions(
                &self.vname(name),
                filter.as_deref(),
                query.page_size.min(100),
                query.page_token.as_deref(),
            )
            .await
        {
            Ok(p) => p,
            Err(e) if e.kind() == ErrorKind::NotFound => Default::default(),
            Err(e) => return Err(e.into()),
        };
        let mut items = vec![];
        for m in page.models {
            items.push(self.version_of(name, m).await?);
        }
        items.sort_by_key(|v| v.version);
        Ok(Page {
            items,
            next_page_token: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn update_version(
        &self,
        name: &ModelName,
        version: u64,
        update: VersionUpdate,
    ) -> Result<ModelVersion> {
        validate_tags(update.set_tags.keys())?;
        check_labels(&update.set_tags)?;
        let m = self.get_vertex(name, version).await?;
        let mut labels = m.labels.clone();
        for k in &update.remove_tags {
            labels.remove(k);
        }
        labels.extend(update.set_tags);
        if let Some(s) = update.status {
            labels.insert(STATUS_LABEL.into(), s.to_string());
        }
        let patch = Model {
            version_description: Some(match update.description {
                Some(d) => d.unwrap_or_default(),
                None => m.version_description.clone().unwrap_or_default(),
            }),
            labels,
            ..Model::default()
        };
        let target = format!("{}@{version}", self.vname(name));
        self.client
            .patch(&target, &patch, "versionDescription,labels")
            .await?;
        self.get_version(name, version).await
    }

    async fn delete_version(&self, name: &ModelName, version: u64) -> Result<()> {
        self.get_vertex(name, version).await?;
        let op = self
            .client
            .delete_version(&format!("{}@{version}", self.vname(name)))
            .await?;
        lro::wait(&self.client, op, self.lro).await?;
        Ok(())
    }

    async fn set_alias(&self, name: &ModelName, alias: &Alias, version: u64) -> Result<()> {
        Self::check_alias(alias)?;
        self.get_vertex(name, version).await?;
        if let Some(holder) = self.alias_holder(name, alias).await? {
            match holder
                .version_id
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
            {
                Some(v) if v == version => return Ok(()),
                Some(v) => {
                    let from = format!("{}@{v}", self.vname(name));
                    self.client
                        .merge_version_aliases(&from, &[format!("-{alias}")])
                        .await?;
                }
                None => {}
            }
        }
        let to = format!("{}@{version}", self.vname(name));
        self.client
            .merge_version_aliases(&to, &[alias.to_string()])
            .await?;
        Ok(())
    }

    async fn delete_alias(&self, name: &ModelName, alias: &Alias) -> Result<()> {
        Self::check_alias(alias)?;
        let holder = self.alias_holder(name, alias).await?;
        let Some(v) = holder.and_then(|h| h.version_id) else {
            return Err(Error::AliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            });
        };
        let from = format!("{}@{v}", self.vname(name));
        self.client
            .merge_version_aliases(&from, &[format!("-{alias}")])
            .await?;
        Ok(())
    }

    async fn resolve_alias(&self, name: &ModelName, alias: &Alias) -> Result<ModelVersion> {
        Self::check_alias(alias)?;
        match self.alias_holder(name, alias).await? {
            Some(m) => self.version_of(name, m).await,
            None => Err(Error::AliasNotFound {
                model: name.to_string(),
                alias: alias.to_string(),
            }),
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
        self.artifacts.get(name, path, &blob).await
    }
}
