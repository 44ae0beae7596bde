//! [`LineageRef`]: where a model came from, shared by tracking, registry and features
//! without any of them importing another.
//!
//! ```
//! use mlops_core::{Digest, LineageRef, RunRef, DatasetRef};
//! let l = LineageRef::default()
//!     .with_run(RunRef { tracking_uri: "file:///tmp/mlruns".into(), run_id: "r1".into() })
//!     .with_dataset(DatasetRef { uri: "file:///data/train.parquet".into(), digest: Digest::of(b"x") })
//!     .with_code_revision("3f2a9c1");
//! assert!(l.is_complete());
//! ```

use crate::digest::Digest;
use serde::{Deserialize, Serialize};

/// A run in some tracking store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunRef {
    /// The tracking store's URI (`file:///...`, `http://mlflow:5000`).
    pub tracking_uri: String,
    /// The run id in that store.
    pub run_id: String,
}

/// A dataset by location and content digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DatasetRef {
    /// Where it lives.
    pub uri: String,
    /// The blake3 digest of its content (or of its manifest).
    pub digest: Digest,
}

/// A model version in some registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelVersionRef {
    /// The registry's URI.
    pub registry: String,
    /// The model name.
    pub model: String,
    /// The version number.
    pub version: u64,
}

impl std::fmt::Display for ModelVersionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}@v{}", self.registry, self.model, self.version)
    }
}

/// Lineage of a model version: the run, the data, the features, the code, the parent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageRef {
    /// The training run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunRef>,
    /// Training (and evaluation) datasets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<DatasetRef>,
    /// Feature views read, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_views: Vec<String>,
    /// Feature services read, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_services: Vec<String>,
    /// The code revision (git commit) that trained it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_revision: Option<String>,
    /// The version this one was derived or copied from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ModelVersionRef>,
}

impl LineageRef {
    /// Sets the run.
    pub fn with_run(mut self, run: RunRef) -> Self {
        self.run = Some(run);
        self
    }

    /// Adds a dataset.
    pub fn with_dataset(mut self, d: DatasetRef) -> Self {
        self.datasets.push(d);
        self
    }

    /// Adds a feature view reference.
    pub fn with_feature_view(mut self, v: impl Into<String>) -> Self {
        self.feature_views.push(v.into());
        self
    }

    /// Adds a feature service reference.
    pub fn with_feature_service(mut self, s: impl Into<String>) -> Self {
        self.feature_services.push(s.into());
        self
    }

    /// Sets the code revision.
    pub fn with_code_revision(mut self, rev: impl Into<String>) -> Self {
        self.code_revision = Some(rev.into());
        self
    }

    /// Sets the parent version.
    pub fn with_parent(mut self, p: ModelVersionRef) -> Self {
        self.parent = Some(p);
        self
    }

    /// Complete lineage: a run, at least one dataset, and a code revision
    /// (what ISO 27001-style checks require).
    pub fn is_complete(&self) -> bool {
        self.run.is_some() && !self.datasets.is_empty() && self.code_revision.is_some()
    }

    /// What a complete lineage lacks, by field name.
    pub fn missing(&self) -> Vec<&'static str> {
        let mut m = vec![];
        if self.run.is_none() {
            m.push("run");
        }
        if self.datasets.is_empty() {
            m.push("datasets");
        }
        if self.code_revision.is_none() {
            m.push("code_revision");
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_missing() {
        let l = LineageRef::default().with_feature_view("driver_stats");
        assert_eq!(l.missing(), vec!["run", "datasets", "code_revision"]);
        let s = serde_json::to_string(&l).unwrap();
        assert_eq!(s, r#"{"feature_views":["driver_stats"]}"#);
        let back: LineageRef = serde_json::from_str(&s).unwrap();
        assert_eq!(back, l);
    }
}
