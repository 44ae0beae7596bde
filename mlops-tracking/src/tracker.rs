//! The [`Tracker`] trait (the contract every backend implements) and [`TrackerExt`]
//! (conveniences built on it).

use crate::error::Result;
use crate::types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LoggedArtifact, Metric, Page, Run,
    RunInfo, RunStatus, SearchExperiments, SearchRuns, Tag,
};
use async_trait::async_trait;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Experiment tracking: experiments, runs, params, metrics, tags and artifacts.
///
/// # Contract
/// MLflow's semantics on every backend: a param is immutable (the same value again
/// is fine, a different value is [`Error::ParamChanged`](crate::Error::ParamChanged));
/// tags overwrite; logging to a deleted run is refused; keys ≤ 250 characters, param
/// values ≤ 6000, tag values ≤ 8000, checked before anything is sent (MLflow itself
/// truncates silently — we refuse). NaN round-trips everywhere; `±inf` round-trips
/// where [`Capabilities::infinite_metrics`] is true and is stored as `±f64::MAX`
/// elsewhere. Every method is required; an operation a backend cannot do returns
/// `Unsupported`, never a silent no-op.
///
/// # Wrappers
/// A layer wraps an `Arc<dyn Tracker>` and forwards every method; [`Tracker`] is
/// implemented for `Arc<T>` and `Box<T>`.
///
/// # Clone
/// Backends are cheap to share: pass `Arc<dyn Tracker>` around.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_tracking::Result<()> {
/// use mlops_tracking::{Tracker, TrackerExt, EmbeddedTracker, CreateRun, RunStatus};
/// use std::sync::Arc;
/// let t: Arc<dyn Tracker> = Arc::new(EmbeddedTracker::builder().with_url("memory://").build()?);
/// let exp = t.create_experiment("demo", &[]).await?;
/// let run = t.create_run(&CreateRun::new(&exp).with_name("first")).await?;
/// t.log_param(run.id(), "lr", "0.01").await?;
/// for step in 0..3 {
///     t.log_metric(run.id(), "loss", 1.0 / (step + 1) as f64, step).await?;
/// }
/// t.update_run(run.id(), RunStatus::Finished, None).await?;
/// let history = t.metric_history(run.id(), "loss").await?;
/// assert_eq!(history.len(), 3);
/// assert_eq!(t.get_run(run.id()).await?.data.params["lr"], "0.01");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Tracker: std::fmt::Debug + std::fmt::Display + Send + Sync + 'static {
    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// The tracking URI (`file:///...`, `http://mlflow:5000`), as used in [`mlops_core::RunRef`].
    fn uri(&self) -> String;

    /// Creates an experiment and returns its id.
    ///
    /// # Errors
    /// `AlreadyExists` if the name is taken (also by a deleted experiment);
    /// `InvalidArgument` for a bad name or tag.
    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String>;

    /// Reads an experiment by id (active or deleted).
    ///
    /// # Errors
    /// `NotFound`.
    async fn get_experiment(&self, experiment_id: &str) -> Result<Experiment>;

    /// Reads an experiment by name (active or deleted).
    ///
    /// # Errors
    /// `NotFound`.
    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment>;

    /// Searches experiments.
    ///
    /// **Behavior**: filter on `name`/`attributes.name`, `tags.<key>` and times;
    /// default order `creation_time DESC`; paging with opaque tokens.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad filter (with the column), order or token.
    async fn search_experiments(&self, query: &SearchExperiments) -> Result<Page<Experiment>>;

    /// Renames an experiment.
    ///
    /// # Errors
    /// `NotFound`; `AlreadyExists` if the new name is taken.
    async fn rename_experiment(&self, experiment_id: &str, new_name: &str) -> Result<()>;

    /// Sets (overwrites) an experiment tag.
    ///
    /// # Errors
    /// `NotFound`; `InvalidArgument` past the limits.
    async fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<()>;

    /// Moves an experiment (and so its runs) to the trash. Needs
    /// [`Capabilities::experiment_lifecycle`].
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete_experiment(&self, experiment_id: &str) -> Result<()>;

    /// Restores a deleted experiment.
    ///
    /// # Errors
    /// `NotFound`.
    async fn restore_experiment(&self, experiment_id: &str) -> Result<()>;

    /// Creates a run (status `RUNNING`).
    ///
    /// # Errors
    /// `NotFound` for an unknown experiment; `InvalidArgument` for bad tags.
    async fn create_run(&self, request: &CreateRun) -> Result<Run>;

    /// Reads a run: info, latest metric per key, params and tags.
    ///
    /// # Errors
    /// `NotFound`.
    async fn get_run(&self, run_id: &str) -> Result<Run>;

    /// Sets a run's status and end time (now when `None` and the status is terminal).
    ///
    /// # Errors
    /// `NotFound`.
    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo>;

    /// Moves a run to the trash: searches skip it, logging to it is refused.
    ///
    /// # Errors
    /// `NotFound`.
    async fn delete_run(&self, run_id: &str) -> Result<()>;

    /// Restores a deleted run.
    ///
    /// # Errors
    /// `NotFound`.
    async fn restore_run(&self, run_id: &str) -> Result<()>;

    /// Searches runs across experiments with MLflow's filter syntax.
    ///
    /// **Behavior**: default order `attributes.start_time DESC`, then run id; runs
    /// missing a sort key come last; paging with opaque tokens tied to the query.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad filter (with the column), order, page size or token.
    async fn search_runs(&self, query: &SearchRuns) -> Result<Page<Run>>;

    /// Logs metrics, params and tags in one call (chunked to the backend's limits).
    ///
    /// **Behavior**: params are immutable, tags overwrite, every metric point is kept
    /// (several points may share a step). All keys are validated before anything is
    /// written.
    ///
    /// # Errors
    /// `InvalidArgument` past the limits; `Conflict` for a changed param or a deleted
    /// run; `NotFound` for an unknown run.
    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()>;

    /// Full histories of `keys`, each ordered by step then timestamp. A key never
    /// logged maps to an empty list.
    ///
    /// # Errors
    /// `NotFound` for an unknown run (embedded; MLflow answers empty).
    async fn metric_histories(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>>;

    /// Stores `bytes` at `path` (relative, no `..`) under the run's artifact root.
    /// Needs [`Capabilities::artifacts`].
    ///
    /// # Errors
    /// `InvalidArgument` for a bad path; `NotFound` for an unknown run.
    async fn log_artifact(&self, run_id: &str, path: &str, bytes: Bytes) -> Result<LoggedArtifact>;

    /// Lists the direct children of `dir` (the root when `None`); paths are relative
    /// to the run's artifact root. A missing directory lists as empty.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad path.
    async fn list_artifacts(&self, run_id: &str, dir: Option<&str>) -> Result<Vec<ArtifactEntry>>;

    /// Reads an artifact.
    ///
    /// # Errors
    /// `NotFound`.
    async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes>;
}

/// Conveniences over any [`Tracker`] (blanket-implemented).
#[async_trait]
pub trait TrackerExt: Tracker {
    /// Logs one metric point stamped now.
    ///
    /// # Errors
    /// As [`Tracker::log_batch`].
    async fn log_metric(&self, run_id: &str, key: &str, value: f64, step: i64) -> Result<()> {
        self.log_batch(run_id, &Batch::new().metric(Metric::new(key, value, step)))
            .await
    }

    /// Logs one param.
    ///
    /// # Errors
    /// As [`Tracker::log_batch`].
    async fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(run_id, &Batch::new().param(key, value))
            .await
    }

    /// Sets one run tag.
    ///
    /// # Errors
    /// As [`Tracker::log_batch`].
    async fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(run_id, &Batch::new().tag(key, value)).await
    }

    /// The history of one key, ordered by step then timestamp.
    ///
    /// # Errors
    /// As [`Tracker::metric_histories`].
    async fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>> {
        let mut all = self.metric_histories(run_id, &[key.to_string()]).await?;
        Ok(all.remove(key).unwrap_or_default())
    }

    /// Logs a local file as `<dest_dir>/<file name>` (or at the root).
    ///
    /// # Errors
    /// `Io` reading the file; as [`Tracker::log_artifact`].
    async fn log_artifact_file(
        &self,
        run_id: &str,
        local: &std::path::Path,
        dest_dir: Option<&str>,
    ) -> Result<LoggedArtifact> {
        let bytes = tokio::fs::read(local)
            .await
            .map_err(|e| mlops_core::Error::io(local, e))?;
        let name = local.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            mlops_core::Error::invalid(
                "artifact file",
                local.display().to_string(),
                "has no UTF-8 file name",
            )
        })?;
        let path = match dest_dir {
            Some(d) if !d.is_empty() => format!("{}/{name}", d.trim_end_matches('/')),
            _ => name.to_string(),
        };
        self.log_artifact(run_id, &path, Bytes::from(bytes)).await
    }

    /// Logs every file below a local directory, keeping relative paths, under `dest_dir`.
    /// Symbolic links are not followed.
    ///
    /// # Errors
    /// `Io` reading the tree; as [`Tracker::log_artifact`].
    async fn log_artifact_dir(
        &self,
        run_id: &str,
        local: &std::path::Path,
        dest_dir: Option<&str>,
    ) -> Result<Vec<LoggedArtifact>> {
        let mut out = Vec::new();
        let mut stack = vec![(local.to_path_buf(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            let mut rd = tokio::fs::read_dir(&dir)
                .await
                .map_err(|e| mlops_core::Error::io(&dir, e))?;
            while let Some(entry) = rd
                .next_entry()
                .await
                .map_err(|e| mlops_core::Error::io(&dir, e))?
            {
                let ft = entry
                    .file_type()
                    .await
                    .map_err(|e| mlops_core::Error::io(entry.path(), e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let child_rel = if rel.is_empty() {
                    name
                } else {
                    format!("{rel}/{name}")
                };
                if ft.is_dir() {
                    stack.push((entry.path(), child_rel));
                } else if ft.is_file() {
                    let bytes = tokio::fs::read(entry.path())
                        .await
                        .map_err(|e| mlops_core::Error::io(entry.path(), e))?;
                    let path = match dest_dir {
                        Some(d) if !d.is_empty() => {
                            format!("{}/{child_rel}", d.trim_end_matches('/'))
                        }
                        _ => child_rel,
                    };
                    out.push(self.log_artifact(run_id, &path, Bytes::from(bytes)).await?);
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Ends a run: status `FINISHED` (or the given one) and end time now.
    ///
    /// # Errors
    /// As [`Tracker::update_run`].
    async fn end_run(&self, run_id: &str, status: RunStatus) -> Result<RunInfo> {
        self.update_run(run_id, status, None).await
    }

    /// A [`mlops_core::RunRef`] for lineage records.
    fn run_ref(&self, run_id: &str) -> mlops_core::RunRef {
        mlops_core::RunRef {
            tracking_uri: self.uri(),
            run_id: run_id.to_string(),
        }
    }
}

impl<T: Tracker + ?Sized> TrackerExt for T {}

macro_rules! forward_tracker {
    ($ty:ty) => {
        #[async_trait]
        #[deny(clippy::missing_trait_methods)]
        impl<T: Tracker + ?Sized> Tracker for $ty {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            fn uri(&self) -> String {
                (**self).uri()
            }
            async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
                (**self).create_experiment(name, tags).await
            }
            async fn get_experiment(&self, id: &str) -> Result<Experiment> {
                (**self).get_experiment(id).await
            }
            async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
                (**self).get_experiment_by_name(name).await
            }
            async fn search_experiments(&self, q: &SearchExperiments) -> Result<Page<Experiment>> {
                (**self).search_experiments(q).await
            }
            async fn rename_experiment(&self, id: &str, new_name: &str) -> Result<()> {
                (**self).rename_experiment(id, new_name).await
            }
            async fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> Result<()> {
                (**self).set_experiment_tag(id, key, value).await
            }
            async fn delete_experiment(&self, id: &str) -> Result<()> {
                (**self).delete_experiment(id).await
            }
            async fn restore_experiment(&self, id: &str) -> Result<()> {
                (**self).restore_experiment(id).await
            }
            async fn create_run(&self, r: &CreateRun) -> Result<Run> {
                (**self).create_run(r).await
            }
            async fn get_run(&self, run_id: &str) -> Result<Run> {
                (**self).get_run(run_id).await
            }
            async fn update_run(
                &self,
                run_id: &str,
                status: RunStatus,
                end_time: Option<i64>,
            ) -> Result<RunInfo> {
                (**self).update_run(run_id, status, end_time).await
            }
            async fn delete_run(&self, run_id: &str) -> Result<()> {
                (**self).delete_run(run_id).await
            }
            async fn restore_run(&self, run_id: &str) -> Result<()> {
                (**self).restore_run(run_id).await
            }
            async fn search_runs(&self, q: &SearchRuns) -> Result<Page<Run>> {
                (**self).search_runs(q).await
            }
            async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
                (**self).log_batch(run_id, batch).await
            }
            async fn metric_histories(
                &self,
                run_id: &str,
                keys: &[String],
            ) -> Result<BTreeMap<String, Vec<Metric>>> {
                (**self).metric_histories(run_id, keys).await
            }
            async fn log_artifact(
                &self,
                run_id: &str,
                path: &str,
                bytes: Bytes,
            ) -> Result<LoggedArtifact> {
                (**self).log_artifact(run_id, path, bytes).await
            }
            async fn list_artifacts(
                &self,
                run_id: &str,
                dir: Option<&str>,
            ) -> Result<Vec<ArtifactEntry>> {
                (**self).list_artifacts(run_id, dir).await
            }
            async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes> {
                (**self).download_artifact(run_id, path).await
            }
        }
    };
}

forward_tracker!(Arc<T>);
forward_tracker!(Box<T>);
