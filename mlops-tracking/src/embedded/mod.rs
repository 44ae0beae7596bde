//! The embedded tracker: everything in an object store (`file://` by default,
//! `memory://` as the test double), no server.
//!
//! # Layout
//!
//! ```text
//! experiments/ids/<seq>               experiment birth record; the seq is the experiment id
//! experiments/names/<blake3(name)>    create-only claim of a name: the id
//! experiments/<id>/events/<seq>       renames, tags, delete/restore
//! experiments/<id>/runs/<run_id>      empty marker: the run belongs here
//! runs/<run_id>/events/<seq>          1 = created; then params/tags, status, delete/restore
//! runs/<run_id>/metrics/<seq>         one Arrow IPC segment per logged batch (on file://
//!                                     written with one fsync each: mlops_core::seq::local)
//! blobs/<2 hex>/<blake3 hex>          artifact bytes, content-addressed (mlops-core's blob store);
//!                                     a run event maps each artifact path to its blob
//! ```
//!
//! Every record is written once with `PutMode::Create` at the next free sequence
//! number ([`mlops_core::seq::SeqLog`]): several processes can log to the same run at
//! once and no point is lost. State is the fold of the records, cached per
//! process and refreshed with one listing per read.

mod artifacts;
mod builder;
mod experiments;
mod runs;
mod segments;
mod state;

pub use builder::EmbeddedTrackerBuilder;

use crate::error::Result;
use crate::tracker::Tracker;
use crate::types::{
    ArtifactEntry, Batch, Capabilities, CreateRun, Experiment, LoggedArtifact, Metric, Page, Run,
    RunInfo, RunStatus, SearchExperiments, SearchRuns, Tag,
};
use async_trait::async_trait;
use bytes::Bytes;
use mlops_core::Storage;
use mlops_core::seq::SeqLog;
use state::{ExpState, RunState};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Name used in errors.
pub const BACKEND: &str = "embedded tracker";

/// The two sequenced logs of one run, kept so their next-number hints survive.
#[derive(Debug)]
struct RunLogs {
    events: SeqLog,
    metrics: SeqLog,
    /// Key of the metrics directory (for the `file://` segment writer).
    metrics_dir: String,
    /// The lowest segment number not known to be taken (0 = unknown), for the
    /// `file://` segment writer; a taken number costs one directory listing.
    next_segment: AtomicU64,
}

#[derive(Debug, Default)]
struct Caches {
    experiments: HashMap<String, ExpState>,
    runs: HashMap<String, RunState>,
    logs: HashMap<String, Arc<RunLogs>>,
}

/// Experiment tracking in an object store. See the [module docs](self) for the layout.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_tracking::Result<()> {
/// use mlops_tracking::{EmbeddedTracker, Tracker, TrackerExt, CreateRun};
/// let t = EmbeddedTracker::builder().with_url("memory://").build()?;
/// let exp = t.create_experiment("quick", &[]).await?;
/// let run = t.create_run(&CreateRun::new(exp)).await?;
/// t.log_metric(run.id(), "loss", f64::INFINITY, 0).await?;
/// assert_eq!(t.metric_history(run.id(), "loss").await?[0].value, f64::INFINITY);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct EmbeddedTracker {
    storage: Storage,
    blobs: mlops_core::blob::BlobStore,
    exp_ids: SeqLog,
    cache: Mutex<Caches>,
    /// The one-flush segment writer, when the storage is a `file://` directory
    /// this tracker opened itself.
    local: Option<mlops_core::seq::local::LocalPublisher>,
}

impl std::fmt::Display for EmbeddedTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmbeddedTracker({})", self.storage.url())
    }
}

impl EmbeddedTracker {
    /// A builder.
    pub fn builder() -> EmbeddedTrackerBuilder {
        EmbeddedTrackerBuilder::new()
    }

    /// A tracker over an opened storage. Writes nothing.
    ///
    /// # Errors
    /// Only if the storage prefix cannot hold the layout's keys.
    pub fn from_storage(storage: Storage) -> Result<Self> {
        let exp_ids = SeqLog::new(&storage, "experiments/ids")?;
        Ok(Self {
            blobs: mlops_core::blob::BlobStore::new(&storage),
            storage,
            exp_ids,
            cache: Mutex::new(Caches::default()),
            local: None,
        })
    }

    /// Writes metric segments straight to `root` (the directory `storage` maps to).
    fn with_local_segments(
        mut self,
        root: std::path::PathBuf,
        durability: mlops_core::seq::local::Durability,
    ) -> Self {
        self.local = Some(mlops_core::seq::local::LocalPublisher::new(
            root, durability,
        ));
        self
    }

    /// Appends one metric segment at the run's next free number; durable on return.
    async fn append_segment(&self, logs: &RunLogs, segment: Bytes) -> Result<u64> {
        let Some(local) = &self.local else {
            return Ok(logs.metrics.append(segment).await?);
        };
        let start = match logs.next_segment.load(Ordering::Relaxed) {
            0 => logs.metrics.head().await?.map_or(1, |h| h + 1),
            n => n,
        };
        let seq = local.create(&logs.metrics_dir, start, segment).await?;
        logs.next_segment.fetch_max(seq + 1, Ordering::Relaxed);
        Ok(seq)
    }

    /// The storage this tracker writes to.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    fn caches(&self) -> std::sync::MutexGuard<'_, Caches> {
        // A poisoned cache only means a panic elsewhere; the data is still a valid cache.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run_logs(&self, run_id: &str) -> Result<Arc<RunLogs>> {
        check_run_id(run_id)?;
        if let Some(l) = self.caches().logs.get(run_id) {
            return Ok(l.clone());
        }
        let metrics_dir = format!("runs/{run_id}/metrics");
        let logs = Arc::new(RunLogs {
            events: SeqLog::new(&self.storage, &format!("runs/{run_id}/events"))?,
            metrics: SeqLog::new(&self.storage, &metrics_dir)?,
            metrics_dir: self.storage.path(&metrics_dir)?.to_string(),
            next_segment: AtomicU64::new(0),
        });
        Ok(self
            .caches()
            .logs
            .entry(run_id.to_string())
            .or_insert(logs)
            .clone())
    }
}

/// Run ids are 32 lower-case hex characters (uuid v7, MLflow style).
fn check_run_id(run_id: &str) -> Result<()> {
    if run_id.len() == 32 && run_id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(mlops_core::Error::not_found("run", run_id).into())
    }
}

/// Opaque page tokens: hex of `<offset>:<query digest>`, so a token from another
/// query is refused instead of silently skipping rows.
pub(crate) fn page_token(offset: usize, query: &str) -> String {
    hex::encode(format!("{offset}:{}", query_digest(query)))
}

fn query_digest(query: &str) -> String {
    mlops_core::Digest::of(query.as_bytes()).to_hex()[..16].to_string()
}

pub(crate) fn page_offset(token: Option<&str>, query: &str) -> Result<usize> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bad = || -> crate::Error {
        mlops_core::Error::invalid(
            "page token",
            token,
            "not a token from this query; pass next_page_token unchanged",
        )
        .into()
    };
    let raw = hex::decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let (off, digest) = raw.split_once(':').ok_or_else(bad)?;
    if digest != query_digest(query) {
        return Err(bad());
    }
    off.parse().map_err(|_| bad())
}

pub(crate) fn paginate<T>(
    mut items: Vec<T>,
    max_results: usize,
    token: Option<&str>,
    query: &str,
) -> Result<Page<T>> {
    if max_results == 0 || max_results > crate::types::MAX_RESULTS_LIMIT {
        return Err(mlops_core::Error::invalid(
            "max_results",
            max_results.to_string(),
            "must be between 1 and 50000",
        )
        .into());
    }
    let offset = page_offset(token, query)?;
    let total = items.len();
    let start = offset.min(total);
    let end = start.saturating_add(max_results).min(total);
    items.truncate(end);
    let page: Vec<T> = items.drain(start..).collect();
    Ok(Page {
        items: page,
        next_page_token: (end < total).then(|| page_token(end, query)),
    })
}

#[async_trait]
impl Tracker for EmbeddedTracker {
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    fn uri(&self) -> String {
        self.storage.url().to_string()
    }

    async fn create_experiment(&self, name: &str, tags: &[Tag]) -> Result<String> {
        self.create_experiment_impl(name, tags).await
    }

    async fn get_experiment(&self, id: &str) -> Result<Experiment> {
        Ok(self.experiment_state(id).await?.exp)
    }

    async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        self.experiment_by_name(name).await
    }

    async fn search_experiments(&self, q: &SearchExperiments) -> Result<Page<Experiment>> {
        self.search_experiments_impl(q).await
    }

    async fn rename_experiment(&self, id: &str, new_name: &str) -> Result<()> {
        self.rename_experiment_impl(id, new_name).await
    }

    async fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> Result<()> {
        crate::types::check_tag(key, value)?;
        self.append_exp_event(
            id,
            state::ExpEvent::Tag {
                key: key.to_string(),
                value: value.to_string(),
                time: crate::types::now_ms(),
            },
        )
        .await
    }

    async fn delete_experiment(&self, id: &str) -> Result<()> {
        self.append_exp_event(
            id,
            state::ExpEvent::Lifecycle {
                deleted: true,
                time: crate::types::now_ms(),
            },
        )
        .await
    }

    async fn restore_experiment(&self, id: &str) -> Result<()> {
        self.append_exp_event(
            id,
            state::ExpEvent::Lifecycle {
                deleted: false,
                time: crate::types::now_ms(),
            },
        )
        .await
    }

    async fn create_run(&self, request: &CreateRun) -> Result<Run> {
        self.create_run_impl(request).await
    }

    async fn get_run(&self, run_id: &str) -> Result<Run> {
        self.run_full(run_id).await
    }

    async fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<RunInfo> {
        self.update_run_impl(run_id, status, end_time).await
    }

    async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.set_run_lifecycle(run_id, true).await
    }

    async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.set_run_lifecycle(run_id, false).await
    }

    async fn search_runs(&self, q: &SearchRuns) -> Result<Page<Run>> {
        self.search_runs_impl(q).await
    }

    async fn log_batch(&self, run_id: &str, batch: &Batch) -> Result<()> {
        self.log_batch_impl(run_id, batch).await
    }

    async fn metric_histories(
        &self,
        run_id: &str,
        keys: &[String],
    ) -> Result<BTreeMap<String, Vec<Metric>>> {
        self.histories_impl(run_id, keys).await
    }

    async fn log_artifact(&self, run_id: &str, path: &str, bytes: Bytes) -> Result<LoggedArtifact> {
        self.log_artifact_impl(run_id, path, bytes).await
    }

    async fn list_artifacts(&self, run_id: &str, dir: Option<&str>) -> Result<Vec<ArtifactEntry>> {
        self.list_artifacts_impl(run_id, dir).await
    }

    async fn download_artifact(&self, run_id: &str, path: &str) -> Result<Bytes> {
        self.download_artifact_impl(run_id, path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance;

    #[tokio::test]
    async fn conformance_on_memory() {
        let t = EmbeddedTracker::builder()
            .with_url("memory://")
            .build()
            .unwrap();
        conformance::run_all(&t).await;
    }

    #[tokio::test]
    async fn conformance_on_file() {
        let dir = tempfile::tempdir().unwrap();
        let t = EmbeddedTracker::builder()
            .with_url(format!("file://{}/tracking", dir.path().display()))
            .build()
            .unwrap();
        conformance::run_all(&t).await;
    }

    #[test]
    fn page_tokens_are_tied_to_the_query() {
        let t = page_token(5, "q1");
        assert_eq!(page_offset(Some(&t), "q1").unwrap(), 5);
        assert!(page_offset(Some(&t), "q2").is_err());
        assert!(page_offset(Some("zz"), "q1").is_err());
        let p = paginate((0..5).collect(), 2, None, "q").unwrap();
        assert_eq!(p.items, vec![0, 1]);
        let p = paginate((0..5).collect(), 2, p.next_page_token.as_deref(), "q").unwrap();
        assert_eq!(p.items, vec![2, 3]);
        let p = paginate((0..5).collect(), 2, p.next_page_token.as_deref(), "q").unwrap();
        assert_eq!(p.items, vec![4]);
        assert!(p.next_page_token.is_none());
        assert!(paginate(vec![1], 0, None, "q").is_err());
    }

    #[tokio::test]
    async fn artifacts_are_deduplicated_blobs() {
        use futures::TryStreamExt;
        use mlops_core::object_store::ObjectStore;
        let t = EmbeddedTracker::builder()
            .with_url("memory://")
            .build()
            .unwrap();
        let exp = t.create_experiment("blobs", &[]).await.unwrap();
        let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
        let body = Bytes::from_static(b"same content");
        let a = t
            .log_artifact(run.id(), "a/x.bin", body.clone())
            .await
            .unwrap();
        let b = t
            .log_artifact(run.id(), "b/y.bin", body.clone())
            .await
            .unwrap();
        assert_eq!(a.digest, b.digest);
        let blobs = t.storage().path("blobs").unwrap();
        let n = t
            .storage()
            .store()
            .list(Some(&blobs))
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len();
        assert_eq!(n, 1, "one stored copy for two paths");
        assert_eq!(
            t.download_artifact(run.id(), "b/y.bin").await.unwrap(),
            body
        );
        // a path logged again names the new content
        t.log_artifact(run.id(), "a/x.bin", Bytes::from_static(b"v2"))
            .await
            .unwrap();
        assert_eq!(
            t.download_artifact(run.id(), "a/x.bin").await.unwrap(),
            Bytes::from_static(b"v2")
        );
    }

    #[tokio::test]
    async fn a_second_process_sees_the_first_ones_points() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("file://{}/t", dir.path().display());
        let a = EmbeddedTracker::builder().with_url(&url).build().unwrap();
        let b = EmbeddedTracker::builder().with_url(&url).build().unwrap();
        let exp = a.create_experiment("shared", &[]).await.unwrap();
        let run = a.create_run(&CreateRun::new(&exp)).await.unwrap();
        let mk = |o: i64| Batch {
            metrics: (0..10)
                .map(|i| Metric::new("x", 1.0, o + i).at(7))
                .collect(),
            ..Batch::default()
        };
        a.log_batch(run.id(), &mk(0)).await.unwrap();
        b.log_batch(run.id(), &mk(10)).await.unwrap();
        a.log_batch(run.id(), &mk(20)).await.unwrap();
        let h = b.metric_histories(run.id(), &["x".into()]).await.unwrap();
        let steps: Vec<i64> = h["x"].iter().map(|m| m.step).collect();
        assert_eq!(steps, (0..30).collect::<Vec<_>>());
        assert_eq!(b.get_experiment_by_name("shared").await.unwrap().id, exp);
        // b's cached run state catches up with a's param
        a.log_batch(run.id(), &Batch::new().param("p", "1"))
            .await
            .unwrap();
        let e = b
            .log_batch(run.id(), &Batch::new().param("p", "2"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), mlops_core::ErrorKind::Conflict);
    }
}
