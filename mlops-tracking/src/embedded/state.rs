//! The immutable records of the embedded store and how they fold into state.
//!
//! Every change is a JSON record at a sequenced, create-only key; state is the
//! fold of the records in sequence order, cached and brought up to date with one
//! listing per read.

use crate::parse::{Entity, Field, Searchable};
use crate::types::{
    Experiment, LifecycleStage, Metric, Param, Run, RunData, RunInfo, RunStatus, Tag,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Record `experiments/ids/<id>`: the experiment's birth.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ExpCreated {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) tags: Vec<Tag>,
    pub(crate) creation_time: i64,
}

/// Records `experiments/<id>/events/<seq>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum ExpEvent {
    Renamed {
        name: String,
        time: i64,
    },
    Tag {
        key: String,
        value: String,
        time: i64,
    },
    Lifecycle {
        deleted: bool,
        time: i64,
    },
    /// The create lost the race for its name: the id is void.
    Abandoned,
}

/// Records `runs/<run>/events/<seq>`; record 1 is always `Created`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum RunEvent {
    Created {
        experiment_id: String,
        run_name: String,
        user_id: String,
        start_time: i64,
        #[serde(default)]
        tags: Vec<Tag>,
    },
    Data {
        #[serde(default)]
        params: Vec<Param>,
        #[serde(default)]
        tags: Vec<Tag>,
    },
    Status {
        status: RunStatus,
        end_time: Option<i64>,
    },
    Lifecycle {
        deleted: bool,
        time: i64,
    },
    /// An artifact path now names this blob (a later record for the path replaces it).
    Artifact {
        path: String,
        blob: mlops_core::blob::BlobRef,
    },
}

/// Folded experiment state.
#[derive(Debug, Clone)]
pub(crate) struct ExpState {
    pub(crate) exp: Experiment,
    pub(crate) abandoned: bool,
    /// Highest event seq folded.
    pub(crate) seen: u64,
}

impl ExpState {
    pub(crate) fn new(id: &str, created: ExpCreated, artifact_location: String) -> Self {
        Self {
            exp: Experiment {
                id: id.to_string(),
                name: created.name,
                artifact_location,
                lifecycle_stage: LifecycleStage::Active,
                creation_time: created.creation_time,
                last_update_time: created.creation_time,
                tags: created.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            },
            abandoned: false,
            seen: 0,
        }
    }

    pub(crate) fn apply(&mut self, seq: u64, ev: ExpEvent) {
        self.seen = self.seen.max(seq);
        match ev {
            ExpEvent::Renamed { name, time } => {
                self.exp.name = name;
                self.exp.last_update_time = time;
            }
            ExpEvent::Tag { key, value, time } => {
                self.exp.tags.insert(key, value);
                self.exp.last_update_time = time;
            }
            ExpEvent::Lifecycle { deleted, time } => {
                self.exp.lifecycle_stage = if deleted {
                    LifecycleStage::Deleted
                } else {
                    LifecycleStage::Active
                };
                self.exp.last_update_time = time;
            }
            ExpEvent::Abandoned => self.abandoned = true,
        }
    }
}

/// Folded run state.
#[derive(Debug, Clone)]
pub(crate) struct RunState {
    pub(crate) run: Run,
    /// The run's own stage (the experiment's may still hide it).
    pub(crate) own_stage: LifecycleStage,
    /// Artifact path -> blob.
    pub(crate) artifacts: BTreeMap<String, mlops_core::blob::BlobRef>,
    pub(crate) seen_events: u64,
    pub(crate) seen_segments: u64,
}

impl RunState {
    /// The state after record 1.
    pub(crate) fn from_created(run_id: &str, ev: RunEvent, artifact_uri: String) -> Option<Self> {
        let RunEvent::Created {
            experiment_id,
            run_name,
            user_id,
            start_time,
            tags,
        } = ev
        else {
            return None;
        };
        Some(Self {
            run: Run {
                info: RunInfo {
                    run_id: run_id.to_string(),
                    experiment_id,
                    run_name,
                    user_id,
                    status: RunStatus::Running,
                    start_time,
                    end_time: None,
                    lifecycle_stage: LifecycleStage::Active,
                    artifact_uri,
                },
                data: RunData {
                    metrics: BTreeMap::new(),
                    params: BTreeMap::new(),
                    tags: tags.into_iter().map(|t| (t.key, t.value)).collect(),
                },
            },
            own_stage: LifecycleStage::Active,
            artifacts: BTreeMap::new(),
            seen_events: 1,
            seen_segments: 0,
        })
    }

    pub(crate) fn apply(&mut self, seq: u64, ev: RunEvent) {
        self.seen_events = self.seen_events.max(seq);
        match ev {
            RunEvent::Created { .. } => {}
            RunEvent::Data { params, tags } => {
                for p in params {
                    // First write wins: a param never changes once logged.
                    self.run.data.params.entry(p.key).or_insert(p.value);
                }
                for t in tags {
                    self.run.data.tags.insert(t.key, t.value);
                }
            }
            RunEvent::Status { status, end_time } => {
                self.run.info.status = status;
                if end_time.is_some() {
                    self.run.info.end_time = end_time;
                }
            }
            RunEvent::Lifecycle { deleted, .. } => {
                self.own_stage = if deleted {
                    LifecycleStage::Deleted
                } else {
                    LifecycleStage::Active
                };
                self.run.info.lifecycle_stage = self.own_stage;
            }
            RunEvent::Artifact { path, blob } => {
                self.artifacts.insert(path, blob);
            }
        }
    }
}

fn time_field(v: i64) -> Field<'static> {
    // ms timestamps are far below 2^53: exact in f64.
    #[allow(clippy::cast_precision_loss)]
    Field::Num(v as f64)
}

impl Searchable for Run {
    fn field(&self, entity: &Entity) -> Option<Field<'_>> {
        match entity {
            Entity::Metric(k) => self
                .data
                .metrics
                .get(k)
                .map(|m: &Metric| Field::Num(m.value)),
            Entity::Param(k) => self.data.params.get(k).map(|v| Field::Str(v)),
            Entity::Tag(k) => self.data.tags.get(k).map(|v| Field::Str(v)),
            Entity::Attribute(a) => match a.as_str() {
                "status" => Some(Field::Str(self.info.status.as_str())),
                "run_name" | "name" => Some(Field::Str(&self.info.run_name)),
                "run_id" | "id" => Some(Field::Str(&self.info.run_id)),
                "user_id" => Some(Field::Str(&self.info.user_id)),
                "artifact_uri" => Some(Field::Str(&self.info.artifact_uri)),
                "experiment_id" => Some(Field::Str(&self.info.experiment_id)),
                "lifecycle_stage" => Some(Field::Str(self.info.lifecycle_stage.as_str())),
                "start_time" | "created" => Some(time_field(self.info.start_time)),
                "end_time" => self.info.end_time.map(time_field),
                _ => None,
            },
        }
    }
}

impl Searchable for Experiment {
    fn field(&self, entity: &Entity) -> Option<Field<'_>> {
        match entity {
            Entity::Tag(k) => self.tags.get(k).map(|v| Field::Str(v)),
            Entity::Attribute(a) => match a.as_str() {
                "name" => Some(Field::Str(&self.name)),
                "experiment_id" | "id" => Some(Field::Str(&self.id)),
                "lifecycle_stage" => Some(Field::Str(self.lifecycle_stage.as_str())),
                "creation_time" | "created" => Some(time_field(self.creation_time)),
                "last_update_time" => Some(time_field(self.last_update_time)),
                _ => None,
            },
            Entity::Metric(_) | Entity::Param(_) => None,
        }
    }
}
