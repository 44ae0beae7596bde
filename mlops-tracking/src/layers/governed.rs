//! [`Tracker`] for [`Governed`] (the wrapper and its
//! [`GovernanceLayer`](mlops_core::layer::GovernanceLayer) builder are
//! [`mlops_core::layer`]'s), and the tracker's method table.

use crate::error::Result;
use crate::tracker::Tracker;
use crate::types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LoggedArtifact, Metric, Page, Run,
    RunInfo, RunStatus, SearchExperiments, SearchRuns, Tag,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::layer::{Governed, ScopeCache, scoped};
use mlops_core::policy::{MethodRule, MethodTable};
use mlops_core::{Action, ResourceKind, ResourceRef};
use std::collections::BTreeMap;

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

/// The experiment of `run_id`, looked up through the wrapped tracker and memoised
/// in the wrapper's [`ScopeCache`] (runs never move).
pub(crate) async fn experiment_of<T: Tracker>(
    scopes: &ScopeCache,
    inner: &T,
    run_id: &str,
) -> Result<String> {
    scopes
        .get_or_try_insert(run_id, || async {
            Ok(inner.get_run(run_id).await?.info.experiment_id)
        })
        .await
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

/// What a governed tracker call is checked on: its experiment (a run's, looked up
/// once per run id), with the action from [`TRACKER_METHODS`].
trait Check {
    async fn check(&self, method: &str, exp: &str) -> Result<()>;
    async fn check_run(&self, method: &str, run_id: &str) -> Result<()>;
}

impl<T: Tracker> Check for Governed<T> {
    async fn check(&self, method: &str, exp: &str) -> Result<()> {
        let r = |env: Option<&str>| experiment(env, exp);
        Ok(self.authorize(&TRACKER_METHODS, method, r).await?)
    }

    async fn check_run(&self, method: &str, run_id: &str) -> Result<()> {
        let exp = experiment_of(self.scopes(), self.inner(), run_id).await?;
        self.check(method, &exp).await
    }
}

/// Checks every call against a policy first; refusals are `PermissionDenied`
/// naming principal, action and resource, and never reach `T`.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: Tracker> Tracker for Governed<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }
    fn uri(&self) -> String {
        self.inner().uri()
    }
    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        self.check("create_experiment", name).await?;
        self.inner().create_experiment(name, tags).await
    }
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        self.check("get_experiment", experiment_id).await?;
        self.inner().get_experiment(experiment_id).await
    }
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.check("get_experiment_by_name", name).await?;
        self.inner().get_experiment_by_name(name).await
    }
    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>> {
        self.check("search_experiments", "*").await?;
        self.inner().search_experiments(query).await
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        self.check("rename_experiment", experiment_id).await?;
        self.inner()
            .rename_experiment(experiment_id, new_name)
            .await
    }
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        self.check("set_experiment_tag", experiment_id).await?;
        self.inner()
            .set_experiment_tag(experiment_id, key, value)
            .await
    }
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        self.check("delete_experiment", experiment_id).await?;
        self.inner().delete_experiment(experiment_id).await
    }
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        self.check("restore_experiment", experiment_id).await?;
        self.inner().restore_experiment(experiment_id).await
    }
    async fn create_run(&self, request: &CreateRun) -> Result<Run> {
        self.check("create_run", &request.experiment_id).await?;
        self.inner().create_run(request).await
    }
    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.check_run("get_run", run_id).await?;
        self.inner().get_run(run_id).await
    }
    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo> {
        self.check_run("update_run", run_id).await?;
        self.inner().update_run(run_id, status, end_time).await
    }
    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.check_run("delete_run", run_id).await?;
        self.inner().delete_run(run_id).await
    }
    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.check_run("restore_run", run_id).await?;
        self.inner().restore_run(run_id).await
    }
    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>> {
        self.check("search_runs", search_scope(query)).await?;
        self.inner().search_runs(query).await
    }
    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        self.check_run("log_batch", run_id).await?;
        self.inner().log_batch(run_id, batch).await
    }
    async fn metric_histories(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>> {
        self.check_run("metric_histories", run_id).await?;
        self.inner().metric_histories(run_id, keys).await
    }
    async fn log_artifact(&self, run_id: &str, path: &str, bytes: Bytes) -> Result<LoggedArtifact> {
        self.check_run("log_artifact", run_id).await?;
        self.inner().log_artifact(run_id, path, bytes).await
    }
    async fn list_artifacts(&self, run_id: &str, dir: Option<&str>) -> Result<Vec<ArtifactEntry>> {
        self.check_run("list_artifacts", run_id).await?;
        self.inner().list_artifacts(run_id, dir).await
    }
    async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes> {
        self.check_run("download_artifact", run_id).await?;
        self.inner().download_artifact(run_id, path).await
    }
}
