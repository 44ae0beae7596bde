//! Plain data types that cross the [`Tracker`](crate::Tracker) API, and the limits
//! every backend enforces before anything is written.

use crate::error::{Error, Result};
use mlops_core::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Longest metric, param or tag key (MLflow's limit).
pub const MAX_KEY_LEN: usize = 250;
/// Longest param value (MLflow's limit; MLflow truncates silently, we refuse).
pub const MAX_PARAM_VALUE_LEN: usize = 6000;
/// Longest tag value (MLflow's limit; MLflow truncates silently, we refuse).
pub const MAX_TAG_VALUE_LEN: usize = 8000;
/// Largest `max_results` a search accepts (MLflow's limit).
pub const MAX_RESULTS_LIMIT: usize = 50_000;

/// What a backend can do; a small `Copy` struct of booleans.
///
/// ```
/// use mlops_tracking::Capabilities;
/// let c = Capabilities::default();
/// assert!(c.infinite_metrics && c.artifacts);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `±inf` metric values round-trip exactly. When false, the backend stores
    /// them as `±f64::MAX` (MLflow's clamp).
    pub infinite_metrics: bool,
    /// Artifacts can be logged, listed and downloaded.
    pub artifacts: bool,
    /// Experiments can be deleted and restored.
    pub experiment_lifecycle: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            infinite_metrics: true,
            artifacts: true,
            experiment_lifecycle: true,
        }
    }
}

impl Capabilities {
    /// Sets [`Capabilities::infinite_metrics`].
    pub fn with_infinite_metrics(mut self, v: bool) -> Self {
        self.infinite_metrics = v;
        self
    }
    /// Sets [`Capabilities::artifacts`].
    pub fn with_artifacts(mut self, v: bool) -> Self {
        self.artifacts = v;
        self
    }
}

/// Whether an experiment or run is live or in the trash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LifecycleStage {
    /// Live.
    #[default]
    Active,
    /// Deleted (restorable).
    Deleted,
}

impl LifecycleStage {
    /// `"active"` or `"deleted"`, as MLflow spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            LifecycleStage::Active => "active",
            LifecycleStage::Deleted => "deleted",
        }
    }
}

/// Which lifecycle stages a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ViewType {
    /// Only active objects (the default).
    #[default]
    ActiveOnly,
    /// Only deleted objects.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// MLflow's spelling (`ACTIVE_ONLY`, `DELETED_ONLY`, `ALL`).
    pub fn as_str(self) -> &'static str {
        match self {
            ViewType::ActiveOnly => "ACTIVE_ONLY",
            ViewType::DeletedOnly => "DELETED_ONLY",
            ViewType::All => "ALL",
        }
    }

    /// Whether an object in `stage` is shown.
    pub fn shows(self, stage: LifecycleStage) -> bool {
        match self {
            ViewType::ActiveOnly => stage == LifecycleStage::Active,
            ViewType::DeletedOnly => stage == LifecycleStage::Deleted,
            ViewType::All => true,
        }
    }
}

/// The status of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    /// Running (the status of a new run).
    #[default]
    Running,
    /// Scheduled, not started.
    Scheduled,
    /// Finished successfully.
    Finished,
    /// Failed.
    Failed,
    /// Killed.
    Killed,
}

impl RunStatus {
    /// MLflow's spelling, e.g. `"FINISHED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Whether the run has ended (finished, failed or killed).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RunStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "RUNNING" => RunStatus::Running,
            "SCHEDULED" => RunStatus::Scheduled,
            "FINISHED" => RunStatus::Finished,
            "FAILED" => RunStatus::Failed,
            "KILLED" => RunStatus::Killed,
            _ => {
                return Err(mlops_core::Error::invalid(
                    "run status",
                    s,
                    "expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED",
                )
                .into());
            }
        })
    }
}

/// An experiment: a named group of runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// The backend's id (a decimal string on both backends).
    pub id: String,
    /// The unique name.
    pub name: String,
    /// Where the runs' artifacts go.
    pub artifact_location: String,
    /// Active or deleted.
    pub lifecycle_stage: LifecycleStage,
    /// Creation time, ms since the epoch.
    pub creation_time: i64,
    /// Last change, ms since the epoch.
    pub last_update_time: i64,
    /// Tags (overwritable).
    pub tags: BTreeMap<String, String>,
}

/// A metric point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metric {
    /// The metric key.
    pub key: String,
    /// The value; NaN and `±inf` are allowed (see [`Capabilities::infinite_metrics`]).
    pub value: f64,
    /// Wall-clock time, ms since the epoch.
    pub timestamp: i64,
    /// Training step.
    pub step: i64,
}

impl Metric {
    /// A point at `step`, stamped now.
    pub fn new(key: impl Into<String>, value: f64, step: i64) -> Self {
        Self {
            key: key.into(),
            value,
            timestamp: now_ms(),
            step,
        }
    }

    /// Sets the timestamp (ms since the epoch).
    pub fn at(mut self, timestamp: i64) -> Self {
        self.timestamp = timestamp;
        self
    }
}

/// Points are equal when key, step, timestamp and value bits agree (so NaN == NaN).
impl PartialEq for Metric {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
            && self.step == o.step
            && self.timestamp == o.timestamp
            && (self.value.to_bits() == o.value.to_bits()
                || (self.value.is_nan() && o.value.is_nan()))
    }
}

/// A param: logged once per run, immutable afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl Param {
    /// A param.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// A tag: an overwritable key/value on a run or experiment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl Tag {
    /// A tag.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// Metrics, params and tags logged together with [`Tracker::log_batch`](crate::Tracker::log_batch).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// Metric points.
    pub metrics: Vec<Metric>,
    /// Params.
    pub params: Vec<Param>,
    /// Tags.
    pub tags: Vec<Tag>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a metric point.
    pub fn metric(mut self, m: Metric) -> Self {
        self.metrics.push(m);
        self
    }
    /// Adds a param.
    pub fn param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push(Param::new(key, value));
        self
    }
    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push(Tag::new(key, value));
        self
    }
    /// Number of items.
    pub fn len(&self) -> usize {
        self.metrics.len() + self.params.len() + self.tags.len()
    }
    /// True when there is nothing to log.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks keys and values against the limits, and refuses one key with two
    /// different param values. Equal duplicate params are allowed.
    ///
    /// # Errors
    /// `InvalidArgument` naming the key and its length, or the duplicate key.
    pub fn validate(&self) -> Result<()> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        for m in &self.metrics {
            check_key("metric", &m.key)?;
        }
        for p in &self.params {
            check_key("param", &p.key)?;
            check_value("param", &p.key, &p.value, MAX_PARAM_VALUE_LEN)?;
            if let Some(prev) = seen.insert(&p.key, &p.value)
                && prev != p.value
            {
                return Err(mlops_core::Error::invalid(
                    "param key",
                    p.key.as_str(),
                    format!(
                        "given twice in one batch with different values {prev:?} and {:?}",
                        p.value
                    ),
                )
                .into());
            }
        }
        for t in &self.tags {
            check_key("tag", &t.key)?;
            check_value("tag", &t.key, &t.value, MAX_TAG_VALUE_LEN)?;
        }
        Ok(())
    }
}

/// Checks a metric/param/tag key: non-empty, ≤ [`MAX_KEY_LEN`] characters, no control
/// characters, no `..` segment.
///
/// # Errors
/// `InvalidArgument` naming the key and the rule.
pub fn check_key(what: &'static str, key: &str) -> Result<()> {
    let len = key.chars().count();
    if len > MAX_KEY_LEN {
        return Err(Error::TooLong {
            what: format!("{what} key"),
            key: truncate_for_message(key),
            len,
            max: MAX_KEY_LEN,
        });
    }
    let bad = |reason: &str| -> Result<()> {
        Err(mlops_core::Error::invalid(format!("{what} key"), key, reason).into())
    };
    if key.is_empty() {
        return bad("must not be empty");
    }
    if key.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if key.split('/').any(|s| s == "..") || key.starts_with('/') {
        return bad("must not contain '..' segments or start with '/'");
    }
    Ok(())
}

fn check_value(what: &'static str, key: &str, value: &str, max: usize) -> Result<()> {
    let len = value.chars().count();
    if len > max {
        return Err(Error::TooLong {
            what: format!("{what} value of key"),
            key: truncate_for_message(key),
            len,
            max,
        });
    }
    Ok(())
}

fn truncate_for_message(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_string()
    } else {
        format!("{}...", s.chars().take(60).collect::<String>())
    }
}

/// Checks an experiment tag (same limits as a run tag).
///
/// # Errors
/// As [`check_key`]; `InvalidArgument` for a value over [`MAX_TAG_VALUE_LEN`].
pub fn check_tag(key: &str, value: &str) -> Result<()> {
    check_key("tag", key)?;
    check_value("tag", key, value, MAX_TAG_VALUE_LEN)
}

/// Checks an experiment name: non-empty, ≤ 500 characters, no control characters.
///
/// # Errors
/// `InvalidArgument` naming the rule.
pub fn check_experiment_name(name: &str) -> Result<()> {
    let bad = |reason: &str| -> Result<()> {
        Err(mlops_core::Error::invalid("experiment name", name, reason).into())
    };
    if name.trim().is_empty() {
        return bad("must not be empty");
    }
    if name.chars().count() > 500 {
        return bad("must be at most 500 characters");
    }
    if name.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    Ok(())
}

/// Identity and state of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// The run id (32 lower-case hex characters).
    pub run_id: String,
    /// The owning experiment.
    pub experiment_id: String,
    /// The display name.
    pub run_name: String,
    /// Who started it (may be empty).
    pub user_id: String,
    /// Status.
    pub status: RunStatus,
    /// Start time, ms since the epoch.
    pub start_time: i64,
    /// End time, ms since the epoch, once ended.
    pub end_time: Option<i64>,
    /// Active or deleted (a run of a deleted experiment counts as deleted).
    pub lifecycle_stage: LifecycleStage,
    /// Root URI of the run's artifacts.
    pub artifact_uri: String,
}

/// What a run holds: latest metric per key, params and tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// The latest point per key (highest step, then latest timestamp).
    pub metrics: BTreeMap<String, Metric>,
    /// Params.
    pub params: BTreeMap<String, String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

/// A run: info plus data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Identity and state.
    pub info: RunInfo,
    /// Metrics (latest), params, tags.
    pub data: RunData,
}

impl Run {
    /// The run id.
    pub fn id(&self) -> &str {
        &self.info.run_id
    }
}

/// Options for [`Tracker::create_run`](crate::Tracker::create_run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateRun {
    /// The experiment to create the run in.
    pub experiment_id: String,
    /// A display name (MLflow's `mlflow.runName` tag); a generated one when `None`.
    pub run_name: Option<String>,
    /// Start time, ms since the epoch; now when `None`.
    pub start_time: Option<i64>,
    /// Initial tags.
    pub tags: Vec<Tag>,
    /// Who started the run.
    pub user_id: Option<String>,
}

impl CreateRun {
    /// A run in `experiment_id`.
    pub fn new(experiment_id: impl Into<String>) -> Self {
        Self {
            experiment_id: experiment_id.into(),
            ..Self::default()
        }
    }
    /// Sets the run name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.run_name = Some(name.into());
        self
    }
    /// Sets the start time (ms).
    pub fn with_start_time(mut self, ms: i64) -> Self {
        self.start_time = Some(ms);
        self
    }
    /// Adds a tag.
    pub fn with_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push(Tag::new(key, value));
        self
    }
    /// Sets the user id.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user_id = Some(user.into());
        self
    }
}

/// A run search (MLflow's `runs/search`).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRuns {
    /// Experiments to search (at least one).
    pub experiment_ids: Vec<String>,
    /// Filter in MLflow's syntax, e.g. `metrics.loss < 1 and params.lr = '0.01'`; empty = all.
    pub filter: String,
    /// Sort keys, e.g. `metrics.loss DESC`; default `attributes.start_time DESC`.
    pub order_by: Vec<String>,
    /// Page size (1..=50,000).
    pub max_results: usize,
    /// The token from the previous page.
    pub page_token: Option<String>,
    /// Which lifecycle stages to include.
    pub view: ViewType,
}

impl SearchRuns {
    /// Searches `experiment_ids`, 1000 per page.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(experiment_ids: I) -> Self {
        Self {
            experiment_ids: experiment_ids.into_iter().map(Into::into).collect(),
            filter: String::new(),
            order_by: Vec::new(),
            max_results: 1000,
            page_token: None,
            view: ViewType::ActiveOnly,
        }
    }
    /// Sets the filter.
    pub fn with_filter(mut self, f: impl Into<String>) -> Self {
        self.filter = f.into();
        self
    }
    /// Adds a sort key.
    pub fn with_order_by(mut self, o: impl Into<String>) -> Self {
        self.order_by.push(o.into());
        self
    }
    /// Sets the page size.
    pub fn with_max_results(mut self, n: usize) -> Self {
        self.max_results = n;
        self
    }
    /// Sets the page token.
    pub fn with_page_token(mut self, t: Option<String>) -> Self {
        self.page_token = t;
        self
    }
    /// Sets the view type.
    pub fn with_view(mut self, v: ViewType) -> Self {
        self.view = v;
        self
    }
}

/// An experiment search (MLflow's `experiments/search`).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchExperiments {
    /// Filter, e.g. `name LIKE 'team-%'` or `tags.owner = 'me'`; empty = all.
    pub filter: String,
    /// Sort keys, e.g. `name ASC`; default `creation_time DESC`.
    pub order_by: Vec<String>,
    /// Page size (1..=50,000).
    pub max_results: usize,
    /// The token from the previous page.
    pub page_token: Option<String>,
    /// Which lifecycle stages to include.
    pub view: ViewType,
}

impl Default for SearchExperiments {
    fn default() -> Self {
        Self {
            filter: String::new(),
            order_by: Vec::new(),
            max_results: 1000,
            page_token: None,
            view: ViewType::ActiveOnly,
        }
    }
}

impl SearchExperiments {
    /// Sets the filter.
    pub fn with_filter(mut self, f: impl Into<String>) -> Self {
        self.filter = f.into();
        self
    }
    /// Adds a sort key.
    pub fn with_order_by(mut self, o: impl Into<String>) -> Self {
        self.order_by.push(o.into());
        self
    }
    /// Sets the page size.
    pub fn with_max_results(mut self, n: usize) -> Self {
        self.max_results = n;
        self
    }
    /// Sets the page token.
    pub fn with_page_token(mut self, t: Option<String>) -> Self {
        self.page_token = t;
        self
    }
    /// Sets the view type.
    pub fn with_view(mut self, v: ViewType) -> Self {
        self.view = v;
        self
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass this as `page_token` to get the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// An entry of an artifact listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactEntry {
    /// Path relative to the run's artifact root.
    pub path: String,
    /// A directory (prefix) rather than a file.
    pub is_dir: bool,
    /// Size in bytes for files.
    pub size: Option<u64>,
}

/// What [`Tracker::log_artifact`](crate::Tracker::log_artifact) stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedArtifact {
    /// Path relative to the run's artifact root.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// blake3 digest of the content.
    pub digest: Digest,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mlops_core::ErrorKind;

    #[test]
    fn limits_name_key_and_length() {
        let long = "k".repeat(251);
        let e = Batch::new().metric(Metric::new(&long, 1.0, 0)).validate();
        let e = e.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("251"), "{e}");
        let e = Batch::new()
            .param("lr", "x".repeat(6001))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("lr") && e.to_string().contains("6001"));
        assert!(
            Batch::new()
                .param("lr", "x".repeat(6000))
                .validate()
                .is_ok()
        );
        let e = Batch::new()
            .tag("t", "x".repeat(8001))
            .validate()
            .unwrap_err();
        assert!(e.to_string().contains("8001"));
        assert!(Batch::new().tag("t", "x".repeat(8000)).validate().is_ok());
        let e = Batch::new()
            .param("a", "1")
            .param("a", "2")
            .validate()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(
            Batch::new()
                .param("a", "1")
                .param("a", "1")
                .validate()
                .is_ok()
        );
        assert!(check_key("tag", "../etc").is_err());
        assert!(check_key("tag", "").is_err());
    }

    #[test]
    fn status_parses() {
        assert_eq!(
            "finished".parse::<RunStatus>().unwrap(),
            RunStatus::Finished
        );
        assert!("bogus".parse::<RunStatus>().is_err());
        assert!(ViewType::All.shows(LifecycleStage::Deleted));
        assert!(!ViewType::ActiveOnly.shows(LifecycleStage::Deleted));
    }

    #[test]
    fn nan_points_compare_equal() {
        let a = Metric::new("x", f64::NAN, 1).at(5);
        assert_eq!(a, a.clone());
        assert_ne!(a, Metric::new("x", 1.0, 1).at(5));
    }
}
