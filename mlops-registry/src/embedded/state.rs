//! The embedded backend's records: immutable version records and the sequenced
//! event log of a model, folded on read into the current state.

use crate::types::{ModelVersion, RegisteredModel, VersionStatus, VersionUpdate};
use chrono::{DateTime, Utc};
use mlops_core::name::{Alias, ModelName};
use mlops_core::{Digest, LineageRef};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The immutable record of a version, written once at `models/<m>/versions/<n>`
/// after its artifacts. Its number is its key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRecord {
    pub(crate) artifacts: mlops_core::blob::Manifest,
    pub(crate) manifest_digest: Digest,
    pub(crate) artifact_uri: String,
    #[serde(default)]
    pub(crate) lineage: LineageRef,
    #[serde(default)]
    pub(crate) signature: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) creator: String,
    pub(crate) created_at: DateTime<Utc>,
}

/// One change to a model, appended at `models/<m>/events/<seq>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum ModelEvent {
    Created {
        description: Option<String>,
        tags: BTreeMap<String, String>,
        at: DateTime<Utc>,
    },
    Updated {
        description: Option<Option<String>>,
        set_tags: BTreeMap<String, String>,
        remove_tags: Vec<String>,
        at: DateTime<Utc>,
    },
    /// Deletes the model and every version numbered `<= versions_upto`.
    Deleted {
        versions_upto: u64,
        at: DateTime<Utc>,
    },
    AliasSet {
        alias: Alias,
        version: u64,
        at: DateTime<Utc>,
    },
    AliasDeleted {
        alias: Alias,
        at: DateTime<Utc>,
    },
    VersionUpdated {
        version: u64,
        update: VersionUpdate,
        at: DateTime<Utc>,
    },
    VersionDeleted {
        version: u64,
        at: DateTime<Utc>,
    },
}

/// The mutable overlay of one version.
#[derive(Debug, Clone, Default)]
pub(crate) struct VersionOverlay {
    description: Option<Option<String>>,
    /// `None` = removed.
    tags: BTreeMap<String, Option<String>>,
    status: Option<VersionStatus>,
    deleted: bool,
    updated_at: Option<DateTime<Utc>>,
}

/// A model's state, folded from its events.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelState {
    /// The last event folded in.
    pub(crate) last_seq: u64,
    /// The seq of the `Created` event of the live incarnation, if live.
    pub(crate) created_seq: Option<u64>,
    created_at: Option<DateTime<Utc>>,
    updated_at: Option<DateTime<Utc>>,
    description: Option<String>,
    tags: BTreeMap<String, String>,
    pub(crate) aliases: BTreeMap<Alias, u64>,
    overlays: BTreeMap<u64, VersionOverlay>,
    /// Versions `<= deleted_upto` belong to a deleted incarnation.
    pub(crate) deleted_upto: u64,
}

impl ModelState {
    pub(crate) fn is_live(&self) -> bool {
        self.created_seq.is_some()
    }

    /// Folds event `seq` in. Events on a deleted model (other than `Created`) are ignored.
    pub(crate) fn apply(&mut self, seq: u64, ev: ModelEvent) {
        self.last_seq = seq;
        match ev {
            ModelEvent::Created {
                description,
                tags,
                at,
            } => {
                if self.is_live() {
                    return; // a lost create race; the first one stands
                }
                self.created_seq = Some(seq);
                self.created_at = Some(at);
                self.updated_at = Some(at);
                self.description = description;
                self.tags = tags;
                self.aliases.clear();
            }
            _ if !self.is_live() => {}
            ModelEvent::Updated {
                description,
                set_tags,
                remove_tags,
                at,
            } => {
                if let Some(d) = description {
                    self.description = d;
                }
                self.tags.extend(set_tags);
                for k in remove_tags {
                    self.tags.remove(&k);
                }
                self.updated_at = Some(at);
            }
            ModelEvent::Deleted { versions_upto, .. } => {
                self.created_seq = None;
                self.deleted_upto = self.deleted_upto.max(versions_upto);
                self.aliases.clear();
                self.overlays.clear();
            }
            ModelEvent::AliasSet { alias, version, at } => {
                self.aliases.insert(alias, version);
                self.updated_at = Some(at);
            }
            ModelEvent::AliasDeleted { alias, at } => {
                self.aliases.remove(&alias);
                self.updated_at = Some(at);
            }
            ModelEvent::VersionUpdated {
                version,
                update,
                at,
            } => {
                let o = self.overlays.entry(version).or_default();
                if let Some(d) = update.description {
                    o.description = Some(d);
                }
                for (k, v) in update.set_tags {
                    o.tags.insert(k, Some(v));
                }
                for k in update.remove_tags {
                    o.tags.insert(k, None);
                }
                if let Some(s) = update.status {
                    o.status = Some(s);
                }
                o.updated_at = Some(at);
            }
            ModelEvent::VersionDeleted { version, at } => {
                let o = self.overlays.entry(version).or_default();
                o.deleted = true;
                o.updated_at = Some(at);
                self.aliases.retain(|_, v| *v != version);
            }
        }
    }

    /// Whether `version` was deleted (alone or with an earlier incarnation).
    pub(crate) fn is_deleted(&self, version: u64) -> bool {
        version <= self.deleted_upto || self.overlays.get(&version).is_some_and(|o| o.deleted)
    }

    pub(crate) fn model(&self, name: &ModelName, latest: Option<u64>) -> RegisteredModel {
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        RegisteredModel {
            name: name.clone(),
            description: self.description.clone(),
            tags: self.tags.clone(),
            aliases: self.aliases.clone(),
            latest_version: latest,
            created_at: self.created_at.unwrap_or(epoch),
            updated_at: self.updated_at.unwrap_or(epoch),
        }
    }

    /// The version as seen now: the record plus its overlay and aliases.
    pub(crate) fn version(&self, name: &ModelName, n: u64, rec: &VersionRecord) -> ModelVersion {
        let o = self.overlays.get(&n).cloned().unwrap_or_default();
        let mut tags = rec.tags.clone();
        for (k, v) in o.tags {
            match v {
                Some(v) => {
                    tags.insert(k, v);
                }
                None => {
                    tags.remove(&k);
                }
            }
        }
        ModelVersion {
            model: name.clone(),
            version: n,
            description: o.description.unwrap_or_else(|| rec.description.clone()),
            tags,
            status: o.status.unwrap_or(VersionStatus::Ready),
            artifacts: rec.artifacts.clone(),
            manifest_digest: rec.manifest_digest,
            artifact_uri: rec.artifact_uri.clone(),
            lineage: rec.lineage.clone(),
            signature: rec.signature.clone(),
            metrics: rec.metrics.clone(),
            creator: rec.creator.clone(),
            aliases: self
                .aliases
                .iter()
                .filter(|(_, v)| **v == n)
                .map(|(a, _)| a.clone())
                .collect(),
            created_at: rec.created_at,
            updated_at: o.updated_at.unwrap_or(rec.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_create_delete_recreate() {
        let now = Utc::now();
        let mut s = ModelState::default();
        s.apply(
            1,
            ModelEvent::Created {
                description: Some("a".into()),
                tags: BTreeMap::new(),
                at: now,
            },
        );
        s.apply(
            2,
            ModelEvent::AliasSet {
                alias: "prod".parse().unwrap(),
                version: 1,
                at: now,
            },
        );
        // a second Created while live (lost race) does not reset anything
        s.apply(
            3,
            ModelEvent::Created {
                description: Some("b".into()),
                tags: BTreeMap::new(),
                at: now,
            },
        );
        assert_eq!(s.created_seq, Some(1));
        assert_eq!(s.aliases.len(), 1);
        s.apply(
            4,
            ModelEvent::Deleted {
                versions_upto: 2,
                at: now,
            },
        );
        assert!(!s.is_live());
        assert!(s.is_deleted(2));
        assert!(!s.is_deleted(3));
        s.apply(
            5,
            ModelEvent::Created {
                description: None,
                tags: BTreeMap::new(),
                at: now,
            },
        );
        assert_eq!(s.created_seq, Some(5));
        assert!(s.aliases.is_empty());
        assert!(s.is_deleted(1));
    }
}
