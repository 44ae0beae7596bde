//! [`Governed`] / [`GovernanceLayer`] for [`Tracker`].

use crate::error::Result;
use crate::tracker::Tracker;
use crate::types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LoggedArtifact, Metric, Page, Run,
    RunInfo, RunStatus, SearchExperiments, SearchRuns, Tag,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::layer::{Guard, scoped};
use mlops_core::policy::{Authorizer, MethodRule, MethodTable};
use mlops_core::{Action, Principal, ResourceKind, ResourceRef};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// The action each [`Tracker`] method needs on its experiment.
/// `capabilities` and `uri` are local metadata: listed as reads, never checked.
pub const TRACKER_METHODS: MethodTable = MethodTable::new(
    "Tracker",
    &[
        MethodRule::read("capabilities"),
        MethodRule::read("uri"),
        MethodRule::mutating("create_experiment", Action::Write),
        MethodRule::read("get_experiment"),
        MethodRule::read("get_experiment_by_name"),
        MethodRule::read("search_experiments"),
        MethodRule::mutating("rename_experiment", Action::Write),
        MethodRule::mutating("set_experiment_tag", Action::Write),
        MethodRule::mutating("delete_experiment", Action::Delete),
        MethodRule::mutating("restore_experiment", Action::Write),
        MethodRule::mutating("create_run", Action::Write),
        MethodRule::read("get_run"),
        MethodRule::mutating("update_run", Action::Write),
        MethodRule::mutating("delete_run", Action::Delete),
        MethodRule::mutating("restore_run", Action::Write),
        MethodRule::read("search_runs"),
        MethodRule::mutating("log_batch", Action::Write),
        MethodRule::read("metric_histories"),
        MethodRule::mutating("log_artifact", Action::Write),
        MethodRule::read("list_artifacts"),
        MethodRule::read("download_artifact"),
    ],
);

const CACHE_CAP: usize = 10_000;

/// Run id → experiment id, looked up through the wrapped tracker and cached.
#[derive(Debug, Default)]
pub(crate) struct RunScope {
    cache: Mutex<HashMap<String, String>>,
}

impl RunScope {
    /// The experiment of `run_id`.
    pub(crate) async fn experiment_of<T: Tracker>(
        &self,
        inner: &T,
        run_id: &str,
    ) -> Result<String> {
        if let Some(e) = self.cache.lock().ok().and_then(|c| c.get(run_id).cloned()) {
            return Ok(e);
        }
        let exp = inner.get_run(run_id).await?.info.experiment_id;
        if let Ok(mut c) = self.cache.lock() {
            if c.len() >= CACHE_CAP {
                c.clear();
            }
            c.insert(run_id.to_string(), exp.clone());
        }
        Ok(exp)
    }
}

/// `experiment:<name>` in `env`.
pub(crate) fn experiment(env: Option<&str>, name: &str) -> ResourceRef {
    scoped(ResourceKind::Experiment, name, env)
}

/// The experiment a run search covers: the one listed, else `*`.
pub(crate) fn search_scope(q: &SearchRuns) -> &str {
    match q.experiment_ids.as_slice() {
        [one] => one,
        _ => "*",
    }
}

/// Builds [`Governed`] trackers: an authorizer, the acting principal and an
/// optional environment.
#[derive(Debug, Clone)]
pub struct GovernanceLayer {
    guard: Guard,
}

impl GovernanceLayer {
    /// Governs calls of `principal` with `authorizer`.
    pub fn new(authorizer: Arc<dyn Authorizer>, principal: Principal) -> Self {
        Self {
            guard: Guard::new(authorizer, principal),
        }
    }

    /// Scopes every resource to `env`.
    pub fn with_environment(mut self, env: impl Into<String>) -> Self {
        self.guard = self.guard.with_environment(env);
        self
    }

    /// Wraps `inner`.
    pub fn layer<T: Tracker>(&self, inner: T) -> Governed<T> {
        Governed {
            inner,
            guard: self.guard.clone(),
            runs: RunScope::default(),
        }
    }
}

/// A [`Tracker`] that checks every call against a policy first; refusals are
/// `PermissionDenied` naming principal, action and resource, and never reach `T`.
#[derive(Debug)]
pub struct Governed<T> {
    inner: T,
    guard: Guard,
    runs: RunScope,
}

impl<T: Tracker> Governed<T> {
    /// The wrapped tracker.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    async fn check(&self, method: &str, exp: &str) -> Result<()> {
        let r = experiment(self.guard.environment(), exp);
        Ok(self.guard.check(&TRACKER_METHODS, method, &r).await?)
    }

    async fn check_run(&self, method: &str, run_id: &str) -> Result<()> {
        let exp = self.runs.experiment_of(&self.inner, run_id).await?;
        self.check(method, &exp).await
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Governed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Governed({}, {})", self.inner, self.guard.principal())
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: Tracker> Tracker for Governed<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
    fn uri(&self) -> String {
        self.inner.uri()
    }
    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        self.check("create_experiment", name).await?;
        self.inner.create_experiment(name, tags).await
    }
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.check("get_experiment", experiment_id).await?;
        self.inner.get_experiment(experiment_id).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.check("get_experiment_by_name", name).await?;
        self.inner.get_experiment_by_name(name).await
    }
    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>> {
        self.check("search_experiments", "*").await?;
        self.inner.search_experiments(query).await
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        self.check("rename_experiment", experiment_id).await?;
        self.inner.rename_experiment(experiment_id, new_name).await
    }
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        self.check("set_experiment_tag", experiment_id).await?;
        self.inner
            .set_experiment_tag(experiment_id, key, value)
            .await
    }
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.check("delete_experiment", experiment_id).await?;
        self.inner.delete_experiment(experiment_id).await
    }
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.check("restore_experiment", experiment_id).await?;
        self.inner.restore_experiment(experiment_id).await
    }
    async fn create_run(&self, request: &CreateRun) -> Result<Run> {
        self.check("create_run", &request.experiment_id).await?;
        self.inner.create_run(request).await
    }
    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.check_run("get_run", run_id).await?;
        self.inner.get_run(run_id).await
    }
    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo> {
        self.check_run("update_run", run_id).await?;
        self.inner.update_run(run_id, status, end_time).await
    }
    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.check_run("delete_run", run_id).await?;
        self.inner.delete_run(run_id).await
    }
    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.check_run("restore_run", run_id).await?;
        self.inner.restore_run(run_id).await
    }
    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>> {
        self.check("search_runs", search_scope(query)).await?;
        self.inner.search_runs(query).await
    }
    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        self.check_run("log_batch", run_id).await?;
        self.inner.log_batch(run_id, batch).await
    }
    async fn metric_histories(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>> {
        self.check_run("metric_histories", run_id).await?;
        self.inner.metric_histories(run_id, keys).await
    }
    async fn log_artifact(&self, run_id: &str, path: &str, bytes: Bytes) -> Result<LoggedArtifact> {
        self.check_run("log_artifact", run_id).await?;
        self.inner.log_artifact(run_id, path, bytes).await
    }
    async fn list_artifacts(&self, run_id: &str, dir: Option<&str>) -> Result<Vec<ArtifactEntry>> {
        self.check_run("list_artifacts", run_id).await?;
        self.inner.list_artifacts(run_id, dir).await
    }
    async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes> {
        self.check_run("download_artifact", run_id).await?;
        self.inner.download_artifact(run_id, path).await
    }
}
