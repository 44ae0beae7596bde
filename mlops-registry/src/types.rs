//! Plain data around the [`ModelRegistry`](crate::ModelRegistry) trait.

use crate::error::Result;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use mlops_core::blob::Manifest;
use mlops_core::name::{Alias, ModelName, NameKind, validate};
use mlops_core::path::ArtifactPath;
use mlops_core::{Digest, LineageRef, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a backend can do. An operation outside these returns `Unsupported`;
/// the promotion ledger supplies what a backend lacks (e.g. aliases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// Aliases are stored by the backend itself (MLflow aliases, Vertex version
    /// aliases). Without them, `set_alias`/`delete_alias`/`resolve_alias` return
    /// `Unsupported` and the promotion ledger keeps environment aliases.
    pub native_aliases: bool,
    /// Registered models can be deleted.
    pub delete_models: bool,
    /// Single versions can be deleted.
    pub delete_versions: bool,
    /// Versions can be archived (status `Archived`) and restored.
    pub archive_versions: bool,
    /// Registered models carry free-form tags.
    pub model_tags: bool,
    /// Versions carry free-form tags.
    pub version_tags: bool,
    /// Version numbers are 1..n without gaps, even across processes.
    pub gap_free_versions: bool,
    /// Artifacts are stored by the registry and downloads verify their digests.
    pub verified_artifacts: bool,
}

impl Capabilities {
    /// Every capability off.
    pub const fn none() -> Self {
        Self {
            native_aliases: false,
            delete_models: false,
            delete_versions: false,
            archive_versions: false,
            model_tags: false,
            version_tags: false,
            gap_free_versions: false,
            verified_artifacts: false,
        }
    }

    /// Every capability on.
    pub const fn all() -> Self {
        Self {
            native_aliases: true,
            delete_models: true,
            delete_versions: true,
            archive_versions: true,
            model_tags: true,
            version_tags: true,
            gap_free_versions: true,
            verified_artifacts: true,
        }
    }
}

/// A registered model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Its name.
    pub name: ModelName,
    /// Free-form description.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Alias → version.
    pub aliases: BTreeMap<Alias, u64>,
    /// The highest live version, if any.
    pub latest_version: Option<u64>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The lifecycle state of a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VersionStatus {
    /// Registered and usable.
    Ready,
    /// Retired: kept for audit, not promotable.
    Archived,
}

impl std::fmt::Display for VersionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VersionStatus::Ready => "ready",
            VersionStatus::Archived => "archived",
        })
    }
}

/// A model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The model.
    pub model: ModelName,
    /// The version number (1, 2, ...).
    pub version: u64,
    /// Free-form description.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Lifecycle state.
    pub status: VersionStatus,
    /// The artifacts' manifest (core's blob-store manifest: path → digest + size).
    pub artifacts: Manifest,
    /// The manifest's digest: the version's content identity.
    pub manifest_digest: Digest,
    /// Where the artifact tree lives (a directory URI; `storageUri` for serving).
    /// The embedded backend lays the tree out when an alias first names the version
    /// (every promotion sets one), or on
    /// [`EmbeddedRegistry::lay_out_serving_tree`](crate::EmbeddedRegistry::lay_out_serving_tree);
    /// downloads through the registry never need it.
    pub artifact_uri: String,
    /// Where it came from.
    pub lineage: LineageRef,
    /// Input/output signature or schema (free-form JSON).
    pub signature: Option<serde_json::Value>,
    /// Metrics snapshot at registration.
    pub metrics: BTreeMap<String, f64>,
    /// The principal id that created it.
    pub creator: String,
    /// Aliases pointing at this version.
    pub aliases: Vec<Alias>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ModelVersion {
    /// The blob of the artifact at `path` in this version's manifest.
    ///
    /// # Errors
    /// `ArtifactNotFound` naming model, version and path.
    pub fn artifact(&self, path: &ArtifactPath) -> Result<mlops_core::BlobRef> {
        self.artifacts.get(path.as_str()).copied().ok_or_else(|| {
            crate::error::Error::ArtifactNotFound {
                model: self.model.to_string(),
                version: self.version,
                path: path.to_string(),
            }
        })
    }
}

/// Options for [`ModelRegistry::create_model_opts`](crate::ModelRegistry::create_model_opts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateModelOptions {
    /// Description.
    pub description: Option<String>,
    /// Initial tags.
    pub tags: BTreeMap<String, String>,
}

impl CreateModelOptions {
    /// Sets the description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Adds a tag.
    pub fn with_tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.tags.insert(k.into(), v.into());
        self
    }
}

/// A new version to register.
#[derive(Debug, Clone, PartialEq)]
pub struct NewModelVersion {
    /// Artifact files (path, bytes).
    pub artifacts: Vec<(ArtifactPath, Bytes)>,
    /// Lineage.
    pub lineage: LineageRef,
    /// Signature/schema.
    pub signature: Option<serde_json::Value>,
    /// Metrics snapshot (finite values only).
    pub metrics: BTreeMap<String, f64>,
    /// Description.
    pub description: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// The creator's principal id.
    pub creator: String,
}

impl NewModelVersion {
    /// A version created by `creator`, with nothing else set.
    pub fn new(creator: &Principal) -> Self {
        Self {
            artifacts: vec![],
            lineage: LineageRef::default(),
            signature: None,
            metrics: BTreeMap::new(),
            description: None,
            tags: BTreeMap::new(),
            creator: creator.id.clone(),
        }
    }

    /// Adds an artifact file.
    pub fn with_artifact(mut self, path: ArtifactPath, bytes: impl Into<Bytes>) -> Self {
        self.artifacts.push((path, bytes.into()));
        self
    }

    /// Sets the lineage.
    pub fn with_lineage(mut self, l: LineageRef) -> Self {
        self.lineage = l;
        self
    }

    /// Sets the signature/schema.
    pub fn with_signature(mut self, s: serde_json::Value) -> Self {
        self.signature = Some(s);
        self
    }

    /// Adds a metric.
    pub fn with_metric(mut self, k: impl Into<String>, v: f64) -> Self {
        self.metrics.insert(k.into(), v);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(d.into());
        self
    }

    /// Adds a tag.
    pub fn with_tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.tags.insert(k.into(), v.into());
        self
    }

    /// Checks tag keys, metric keys and values, and duplicate artifact paths.
    ///
    /// # Errors
    /// `InvalidArgument` naming the bad value.
    pub fn validate(&self) -> Result<()> {
        validate_tags(self.tags.keys())?;
        for (k, v) in &self.metrics {
            validate(NameKind::MetricKey, k)?;
            if !v.is_finite() {
                return Err(mlops_core::Error::invalid(
                    "metric value",
                    format!("{k}={v}"),
                    "must be finite",
                )
                .into());
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (p, _) in &self.artifacts {
            if !seen.insert(p) {
                return Err(mlops_core::Error::invalid(
                    "artifact path",
                    p.as_str(),
                    "given twice in one version",
                )
                .into());
            }
        }
        Ok(())
    }
}

pub(crate) fn validate_tags<'a>(keys: impl IntoIterator<Item = &'a String>) -> Result<()> {
    for k in keys {
        validate(NameKind::TagKey, k)?;
    }
    Ok(())
}

/// Changes to a registered model. Unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUpdate {
    /// `Some(Some(d))` sets, `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// Tags to set.
    pub set_tags: BTreeMap<String, String>,
    /// Tag keys to remove (missing keys are ignored).
    pub remove_tags: Vec<String>,
}

impl ModelUpdate {
    /// Sets the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(Some(d.into()));
        self
    }

    /// Sets a tag.
    pub fn set_tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.set_tags.insert(k.into(), v.into());
        self
    }

    /// Removes a tag.
    pub fn remove_tag(mut self, k: impl Into<String>) -> Self {
        self.remove_tags.push(k.into());
        self
    }
}

/// Changes to a version. Unset fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionUpdate {
    /// `Some(Some(d))` sets, `Some(None)` clears the description.
    pub description: Option<Option<String>>,
    /// Tags to set.
    pub set_tags: BTreeMap<String, String>,
    /// Tag keys to remove (missing keys are ignored).
    pub remove_tags: Vec<String>,
    /// A new status (archive or restore).
    pub status: Option<VersionStatus>,
}

impl VersionUpdate {
    /// Sets the description.
    pub fn description(mut self, d: impl Into<String>) -> Self {
        self.description = Some(Some(d.into()));
        self
    }

    /// Sets a tag.
    pub fn set_tag(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.set_tags.insert(k.into(), v.into());
        self
    }

    /// Removes a tag.
    pub fn remove_tag(mut self, k: impl Into<String>) -> Self {
        self.remove_tags.push(k.into());
        self
    }

    /// Sets the status.
    pub fn status(mut self, s: VersionStatus) -> Self {
        self.status = Some(s);
        self
    }
}

/// A query over registered models. Results are sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelQuery {
    /// Only names starting with this.
    pub name_prefix: Option<String>,
    /// Only models carrying this tag with this value.
    pub tag: Option<(String, String)>,
    /// Page size (1..=1000).
    pub page_size: usize,
    /// The token from the previous page.
    pub page_token: Option<String>,
}

impl Default for ModelQuery {
    fn default() -> Self {
        Self {
            name_prefix: None,
            tag: None,
            page_size: 100,
            page_token: None,
        }
    }
}

/// A query over one model's versions. Results are sorted by version, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionQuery {
    /// Only versions in this status.
    pub status: Option<VersionStatus>,
    /// Only versions carrying this tag with this value.
    pub tag: Option<(String, String)>,
    /// Page size (1..=1000).
    pub page_size: usize,
    /// The token from the previous page.
    pub page_token: Option<String>,
}

impl Default for VersionQuery {
    fn default() -> Self {
        Self {
            status: None,
            tag: None,
            page_size: 100,
            page_token: None,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass this as `page_token` for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

pub(crate) fn check_page_size(n: usize) -> Result<()> {
    if (1..=1000).contains(&n) {
        Ok(())
    } else {
        Err(mlops_core::Error::invalid("page size", n.to_string(), "must be 1..=1000").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_version_validation() {
        let p = Principal::user("alice");
        let nv = NewModelVersion::new(&p).with_metric("auc", f64::NAN);
        assert!(nv.validate().unwrap_err().to_string().contains("finite"));
        let nv = NewModelVersion::new(&p).with_tag("bad:key", "x");
        assert!(nv.validate().unwrap_err().to_string().contains("tag key"));
        let path = ArtifactPath::new("m.bin").unwrap();
        let nv = NewModelVersion::new(&p)
            .with_artifact(path.clone(), "a")
            .with_artifact(path, "b");
        assert!(nv.validate().unwrap_err().to_string().contains("twice"));
    }
}
