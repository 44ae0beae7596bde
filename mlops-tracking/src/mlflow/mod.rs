//! The MLflow backend: [`MlflowTracker`] over mlops-core's MLflow wire client.
//!
//! * Keys and values are checked against MLflow's limits before anything is sent
//!   (MLflow would truncate silently); filters and `order_by` are parsed locally
//!   first, so a syntax error points at its column.
//! * `log_batch` is chunked to MLflow's per-request limits (1000 metrics, 100 params,
//!   100 tags, 1000 items), params first. Retries of a chunk cannot duplicate points:
//!   MLflow keeps one row per identical `(key, timestamp, step, value)`.
//! * Non-finite metrics travel as `"NaN"`/`"Infinity"`/`"-Infinity"`; MLflow's store
//!   clamps `±inf` to `±f64::MAX` — declared by
//!   [`Capabilities::infinite_metrics`](crate::Capabilities) = false.
//! * Artifacts go through the server's artifact proxy at their relative paths (so
//!   MLflow's UI and client read them); each one's blake3 digest is recorded as the
//!   run tag `mlops.artifact.blake3.<path>`.

mod builder;

pub use builder::{MlflowConfigKey, MlflowTrackerBuilder};

use crate::error::{Error, Result};
use crate::parse::{parse_filter, parse_order_by};
use crate::tracker::Tracker;
use crate::types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LifecycleStage, LoggedArtifact,
    MAX_KEY_LEN, MAX_RESULTS_LIMIT, Metric, Page, Run, RunData, RunInfo, RunStatus,
    SearchExperiments, SearchRuns, Tag, check_experiment_name, check_tag, now_ms,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::ErrorKind;
use mlops_core::mlflow::MlflowClient;
use mlops_core::mlflow::types::{
    KeyValue, MetricValue, WireExperiment, WireMetric, WireRun, WireRunInfo,
};
use std::collections::BTreeMap;

/// Name used in errors.
pub const BACKEND: &str = "mlflow";

/// Prefix of the run tags that record artifact digests.
pub const DIGEST_TAG_PREFIX: &str = "mlops.artifact.blake3.";

/// Experiment tracking on an MLflow server (REST).
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_tracking::Result<()> {
/// use mlops_tracking::{mlflow::MlflowTracker, Tracker, CreateRun};
/// let t = MlflowTracker::builder().with_url("http://127.0.0.1:5000").build()?;
/// let exp = t.create_experiment("demo", &[]).await?;
/// let run = t.create_run(&CreateRun::new(exp)).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MlflowTracker {
    client: MlflowClient,
}

impl std::fmt::Display for MlflowTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let base = self.client.base_url();
        let host = base
            .split_once("://")
            .map_or(base, |(_, rest)| rest)
            .rsplit('@')
            .next()
            .unwrap_or(base);
        write!(f, "MlflowTracker({host})")
    }
}

impl MlflowTracker {
    /// A builder.
    pub fn builder() -> MlflowTrackerBuilder {
        MlflowTrackerBuilder::new()
    }

    /// A tracker over an existing wire client.
    pub fn from_client(client: MlflowClient) -> Self {
        Self { client }
    }

    /// The wire client.
    pub fn client(&self) -> &MlflowClient {
        &self.client
    }

    async fn artifact_root(&self, run_id: &str, for_write: bool) -> Result<String> {
        let run = self.client.get_run(run_id).await?;
        if for_write && run.info.lifecycle_stage == "deleted" {
            return Err(Error::RunNotActive {
                run_id: run_id.to_string(),
            });
        }
        Ok(run.info.artifact_uri)
    }
}

fn stage(s: &str) -> LifecycleStage {
    if s == "deleted" {
        LifecycleStage::Deleted
    } else {
        LifecycleStage::Active
    }
}

fn experiment(e: WireExperiment) -> Experiment {
    let created = e.creation_time.unwrap_or(0);
    Experiment {
        id: e.experiment_id,
        name: e.name,
        artifact_location: e.artifact_location,
        lifecycle_stage: stage(&e.lifecycle_stage),
        creation_time: created,
        last_update_time: e.last_update_time.unwrap_or(created),
        tags: e.tags.into_iter().map(|t| (t.key, t.value)).collect(),
    }
}

fn run_info(i: WireRunInfo) -> RunInfo {
    RunInfo {
        status: i.status.parse().unwrap_or(RunStatus::Running),
        lifecycle_stage: stage(&i.lifecycle_stage),
        run_id: i.run_id,
        experiment_id: i.experiment_id,
        run_name: i.run_name,
        user_id: i.user_id,
        start_time: i.start_time.unwrap_or(0),
        end_time: i.end_time,
        artifact_uri: i.artifact_uri,
    }
}

fn metric(m: WireMetric) -> Metric {
    Metric {
        key: m.key,
        value: m.value.0,
        timestamp: m.timestamp,
        step: m.step,
    }
}

fn run(r: WireRun) -> Run {
    Run {
        info: run_info(r.info),
        data: RunData {
            metrics: r
                .data
                .metrics
                .into_iter()
                .map(|m| (m.key.clone(), metric(m)))
                .collect(),
            params: r
                .data
                .params
                .into_iter()
                .map(|p| (p.key, p.value))
                .collect(),
            tags: r.data.tags.into_iter().map(|t| (t.key, t.value)).collect(),
        },
    }
}

fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: value.to_string(),
    }
}

/// Turns MLflow's 400s for state clashes into our kinds (MLflow reports them as
/// `INVALID_PARAMETER_VALUE`; the messages are documented in the peer study).
fn map_log_error(run_id: &str, e: mlops_core::Error) -> Error {
    if e.kind() == ErrorKind::InvalidArgument {
        let msg = e.to_string();
        if msg.contains("Changing param values is not allowed") {
            return mlops_core::Error::conflict("param", run_id, msg).into();
        }
        if msg.contains("must be in the 'active' state") {
            return Error::RunNotActive {
                run_id: run_id.to_string(),
            };
        }
    }
    e.into()
}

fn check_max_results(n: usize) -> Result<()> {
    if n == 0 || n > MAX_RESULTS_LIMIT {
        return Err(mlops_core::Error::invalid(
            "max_results",
            n.to_string(),
            "must be between 1 and 50000",
        )
        .into());
    }
    Ok(())
}

fn digest_tag_key(path: &str) -> String {
    let key = format!("{DIGEST_TAG_PREFIX}{path}");
    if key.chars().count() <= MAX_KEY_LEN {
        key
    } else {
        // Very long paths: name the tag by the path's own digest.
        format!(
            "{DIGEST_TAG_PREFIX}path-{}",
            mlops_core::Digest::of(path.as_bytes()).to_hex()
        )
    }
}

#[async_trait]
impl Tracker for MlflowTracker {
    fn capabilities(&self) -> Capabilities {
        Capabilities::default().with_infinite_metrics(false)
    }

    fn uri(&self) -> String {
        self.client.base_url().to_string()
    }

    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        check_experiment_name(name)?;
        for t in tags {
            check_tag(&t.key, &t.value)?;
        }
        let tags: Vec<KeyValue> = tags.iter().map(|t| kv(&t.key, &t.value)).collect();
        Ok(self.client.create_experiment(name, &tags).await?)
    }

    async fn get_experiment(&self, id: &str) -> Result<Experiment> {
        Ok(experiment(self.client.get_experiment(id).await?))
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        Ok(experiment(self.client.get_experiment_by_name(name).await?))
    }

    async fn search_experiments(&self, q: &SearchExperiments) -> Result<Page<Experiment>> {
        parse_filter(&q.filter)?;
        for o in &q.order_by {
            parse_order_by(o)?;
        }
        check_max_results(q.max_results)?;
        let (items, next) = self
            .client
            .search_experiments(
                &q.filter,
                &q.order_by,
                q.max_results,
                q.page_token.as_deref(),
                q.view.as_str(),
            )
            .await?;
        Ok(Page {
            items: items.into_iter().map(experiment).collect(),
            next_page_token: next.filter(|t| !t.is_empty()),
        })
    }

    async fn rename_experiment(&self, id: &str, new_name: &str) -> Result<()> {
        check_experiment_name(new_name)?;
        Ok(self.client.rename_experiment(id, new_name).await?)
    }

    async fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> Result<()> {
        check_tag(key, value)?;
        Ok(self.client.set_experiment_tag(id, key, value).await?)
    }

    async fn delete_experiment(&self, id: &str) -> Result<()> {
        Ok(self.client.set_experiment_deleted(id, true).await?)
    }

    async fn restore_experiment(&self, id: &str) -> Result<()> {
        Ok(self.client.set_experiment_deleted(id, false).await?)
    }

    async fn create_run(&self, r: &CreateRun) -> Result<Run> {
        for t in &r.tags {
            check_tag(&t.key, &t.value)?;
        }
        let tags: Vec<KeyValue> = r.tags.iter().map(|t| kv(&t.key, &t.value)).collect();
        let created = self
            .client
            .create_run(
                &r.experiment_id,
                r.run_name.as_deref(),
                r.start_time.unwrap_or_else(now_ms),
                &tags,
                r.user_id.as_deref(),
            )
            .await?;
        Ok(run(created))
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        Ok(run(self.client.get_run(run_id).await?))
    }

    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo> {
        let end_time = end_time.or_else(|| status.is_terminal().then(now_ms));
        Ok(run_info(
            self.client
                .update_run(run_id, status.as_str(), end_time)
                .await?,
        ))
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        Ok(self.client.set_run_deleted(run_id, true).await?)
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        Ok(self.client.set_run_deleted(run_id, false).await?)
    }

    async fn search_runs(&self, q: &SearchRuns) -> Result<Page<Run>> {
        parse_filter(&q.filter)?;
        for o in &q.order_by {
            parse_order_by(o)?;
        }
        check_max_results(q.max_results)?;
        let (items, next) = self
            .client
            .search_runs(
                &q.experiment_ids,
                &q.filter,
                &q.order_by,
                q.max_results,
                q.page_token.as_deref(),
                q.view.as_str(),
            )
            .await?;
        Ok(Page {
            items: items.into_iter().map(run).collect(),
            next_page_token: next.filter(|t| !t.is_empty()),
        })
    }

    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        batch.validate()?;
        // MLflow refuses a key twice in one request even with equal values.
        let mut seen = std::collections::HashSet::new();
        let params: Vec<KeyValue> = batch
            .params
            .iter()
            .filter(|p| seen.insert(p.key.as_str()))
            .map(|p| kv(&p.key, &p.value))
            .collect();
        let tags: Vec<KeyValue> = batch.tags.iter().map(|t| kv(&t.key, &t.value)).collect();
        let metrics: Vec<WireMetric> = batch
            .metrics
            .iter()
            .map(|m| WireMetric {
                key: m.key.clone(),
                value: MetricValue(m.value),
                timestamp: m.timestamp,
                step: m.step,
            })
            .collect();
        self.client
            .log_batch(run_id, &metrics, &params, &tags)
            .await
            .map_err(|e| map_log_error(run_id, e))
    }

    async fn metric_histories(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>> {
        let fetched = futures::future::try_join_all(keys.iter().map(|k| async move {
            let pts = self.client.metric_history(run_id, k).await?;
            let mut pts: Vec<Metric> = pts.into_iter().map(metric).collect();
            pts.sort_by_key(|m| (m.step, m.timestamp));
            Ok::<_, Error>((k.clone(), pts))
        }))
        .await?;
        Ok(fetched.into_iter().collect())
    }

    async fn log_artifact(&self, run_id: &str, path: &str, bytes: Bytes) -> Result<LoggedArtifact> {
        let rel = mlops_core::path::ArtifactPath::new(path)?;
        let root = self.artifact_root(run_id, true).await?;
        let digest = mlops_core::Digest::of(&bytes);
        let size = bytes.len() as u64;
        self.client
            .upload_artifact(&root, rel.as_str(), bytes)
            .await?;
        self.client
            .log_batch(
                run_id,
                &[],
                &[],
                &[kv(&digest_tag_key(rel.as_str()), &digest.to_string())],
            )
            .await
            .map_err(|e| map_log_error(run_id, e))?;
        Ok(LoggedArtifact {
            path: rel.as_str().to_string(),
            size,
            digest,
        })
    }

    async fn list_artifacts(&self, run_id: &str, dir: Option<&str>) -> Result<Vec<ArtifactEntry>> {
        let dir = dir
            .filter(|d| !d.trim_matches('/').is_empty())
            .map(mlops_core::path::ArtifactPath::new)
            .transpose()?;
        let files = self
            .client
            .list_artifacts(run_id, dir.as_ref().map(|d| d.as_str()))
            .await?;
        let mut out: Vec<ArtifactEntry> = files
            .into_iter()
            .map(|f| ArtifactEntry {
                path: f.path,
                is_dir: f.is_dir,
                size: if f.is_dir {
                    None
                } else {
                    f.file_size.and_then(|s| u64::try_from(s).ok())
                },
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes> {
        let rel = mlops_core::path::ArtifactPath::new(path)?;
        let root = self.artifact_root(run_id, false).await?;
        Ok(self.client.download_artifact(&root, rel.as_str()).await?)
    }
}
