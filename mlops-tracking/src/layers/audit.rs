//! [`Tracker`] for [`Audit`] (the wrapper and its
//! [`AuditLayer`](mlops_core::layer::AuditLayer) builder are [`mlops_core::layer`]'s).

use super::governed::{TRACKER_METHODS, experiment, experiment_of, search_scope};
use crate::error::Result;
use crate::tracker::Tracker;
use crate::types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LoggedArtifact, Metric, Page, Run,
    RunInfo, RunStatus, SearchExperiments, SearchRuns, Tag,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::layer::{Audit, canonical, digest_arg};
use std::collections::BTreeMap;

/// What a recorded call is about: an experiment, or a run (its experiment, when it
/// could be resolved, and its id).
enum On<'a> {
    Exp(&'a str),
    Run(Option<String>, String),
}

/// How an audited tracker call is recorded: on its experiment (a run's, looked up
/// before the call), with the tracker's method table.
trait Rec {
    /// Resolves a run's experiment before the call, if the call is recorded.
    async fn run(&self, method: &str, run_id: &str) -> On<'static>;
    fn rec<R>(&self, method: &str, on: On<'_>, args: &[&dyn std::fmt::Debug], r: &Result<R>);
}

impl<T: Tracker> Rec for Audit<T> {
    async fn run(&self, method: &str, run_id: &str) -> On<'static> {
        if !self.sink().wants(&TRACKER_METHODS, method) {
            return On::Run(None, run_id.to_string());
        }
        let exp = experiment_of(self.scopes(), self.inner(), run_id)
            .await
            .unwrap_or_else(|_| "unknown".to_string());
        On::Run(Some(exp), run_id.to_string())
    }

    fn rec<R>(&self, method: &str, on: On<'_>, args: &[&dyn std::fmt::Debug], r: &Result<R>) {
        let sink = self.sink();
        if !sink.wants(&TRACKER_METHODS, method) {
            return;
        }
        let (exp, run) = match &on {
            On::Exp(e) => (*e, None),
            On::Run(e, run) => (e.as_deref().unwrap_or("unknown"), Some(run)),
        };
        let res = experiment(sink.environment(), exp);
        let outcome = r.as_ref().map(drop).map_err(|e| e.kind());
        let req = canonical(method, args);
        if let Some(mut ev) = sink.event(&TRACKER_METHODS, method, res, &req, outcome) {
            // the run id names the resource even when its experiment cannot be
            // resolved (a principal who may not read the run)
            if let Some(run) = run {
                ev = ev.with_detail("run", run.clone());
            }
            sink.log().record(ev);
        }
    }
}

/// Records every mutating call (and reads, if configured) in an
/// [`AuditLog`](mlops_core::audit::AuditLog). Run calls are recorded on the run's
/// experiment, looked up before the call through the wrapped tracker
/// (`experiment:unknown` when that lookup fails, e.g. the run does not exist or the
/// principal may not read it); the run id is always in the event's `run` detail.
#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: Tracker> Tracker for Audit<T> {
    fn capabilities(&self) -> Capabilities {
        self.inner().capabilities()
    }
    fn uri(&self) -> String {
        self.inner().uri()
    }
    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        let r = self.inner().create_experiment(name, tags).await;
        self.rec("create_experiment", On::Exp(name), &[&name, &tags], &r);
        r
    }
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment> {
        let r = self.inner().get_experiment(experiment_id).await;
        self.rec(
            "get_experiment",
            On::Exp(experiment_id),
            &[&experiment_id],
            &r,
        );
        r
    }
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let r = self.inner().get_experiment_by_name(name).await;
        self.rec("get_experiment_by_name", On::Exp(name), &[&name], &r);
        r
    }
    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>> {
        let r = self.inner().search_experiments(query).await;
        self.rec("search_experiments", On::Exp("*"), &[query], &r);
        r
    }
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()> {
        let r = self
            .inner()
            .rename_experiment(experiment_id, new_name)
            .await;
        self.rec(
            "rename_experiment",
            On::Exp(experiment_id),
            &[&experiment_id, &new_name],
            &r,
        );
        r
    }
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()> {
        let r = self
            .inner()
            .set_experiment_tag(experiment_id, key, value)
            .await;
        self.rec(
            "set_experiment_tag",
            On::Exp(experiment_id),
            &[&experiment_id, &key, &value],
            &r,
        );
        r
    }
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()> {
        let r = self.inner().delete_experiment(experiment_id).await;
        self.rec(
            "delete_experiment",
            On::Exp(experiment_id),
            &[&experiment_id],
            &r,
        );
        r
    }
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()> {
        let r = self.inner().restore_experiment(experiment_id).await;
        self.rec(
            "restore_experiment",
            On::Exp(experiment_id),
            &[&experiment_id],
            &r,
        );
        r
    }
    async fn create_run(&self, request: &CreateRun) -> Result<Run> {
        let r = self.inner().create_run(request).await;
        self.rec(
            "create_run",
            On::Exp(&request.experiment_id),
            &[request],
            &r,
        );
        r
    }
    async fn get_run(&self, run_id: &str) -> Result<Run> {
        let on = self.run("get_run", run_id).await;
        let r = self.inner().get_run(run_id).await;
        self.rec("get_run", on, &[&run_id], &r);
        r
    }
    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo> {
        let on = self.run("update_run", run_id).await;
        let r = self.inner().update_run(run_id, status, end_time).await;
        self.rec("update_run", on, &[&run_id, &status, &end_time], &r);
        r
    }
    async fn delete_run(&self, run_id: &str) -> Result<()> {
        let on = self.run("delete_run", run_id).await;
        let r = self.inner().delete_run(run_id).await;
        self.rec("delete_run", on, &[&run_id], &r);
        r
    }
    async fn restore_run(&self, run_id: &str) -> Result<()> {
        let on = self.run("restore_run", run_id).await;
        let r = self.inner().restore_run(run_id).await;
        self.rec("restore_run", on, &[&run_id], &r);
        r
    }
    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>> {
        let r = self.inner().search_runs(query).await;
        self.rec("search_runs", On::Exp(search_scope(query)), &[query], &r);
        r
    }
    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        let on = self.run("log_batch", run_id).await;
        let r = self.inner().log_batch(run_id, batch).await;
        self.rec("log_batch", on, &[&run_id, batch], &r);
        r
    }
    async fn metric_histories(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>> {
        let on = self.run("metric_histories", run_id).await;
        let r = self.inner().metric_histories(run_id, keys).await;
        self.rec("metric_histories", on, &[&run_id, &keys], &r);
        r
    }
    async fn log_artifact(&self, run_id: &str, path: &str, bytes: Bytes) -> Result<LoggedArtifact> {
        let on = self.run("log_artifact", run_id).await;
        let d = digest_arg(&bytes);
        let r = self.inner().log_artifact(run_id, path, bytes).await;
        self.rec("log_artifact", on, &[&run_id, &path, &d], &r);
        r
    }
    async fn list_artifacts(&self, run_id: &str, dir: Option<&str>) -> Result<Vec<ArtifactEntry>> {
        let on = self.run("list_artifacts", run_id).await;
        let r = self.inner().list_artifacts(run_id, dir).await;
        self.rec("list_artifacts", on, &[&run_id, &dir], &r);
        r
    }
    async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes> {
        let on = self.run("download_artifact", run_id).await;
        let r = self.inner().download_artifact(run_id, path).await;
        self.rec("download_artifact", on, &[&run_id, &path], &r);
        r
    }
}
