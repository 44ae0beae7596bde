//! [`RunLogger`]: non-blocking logging for training loops, batched in the background.
//!
//! `log_metric` puts the point on a bounded queue and returns at once; a worker
//! task sends batches of up to `batch_size` items with [`Tracker::log_batch`]. When
//! the queue is full the caller waits up to `send_timeout` and then gets
//! [`Error::QueueFull`]: a point is never dropped silently. [`RunLogger::flush`] and
//! [`RunLogger::close`] return only when everything queued before them is durable,
//! and report every batch the backend refused ([`Error::Refused`] names what).

use crate::error::{Error, Result};
use crate::tracker::Tracker;
use crate::types::{Batch, Metric, Param, Tag};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Settings of a [`RunLogger`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLoggerOptions {
    /// Items the queue holds before callers wait (default 10,000).
    pub queue_capacity: usize,
    /// Items per `log_batch` call (default 1000).
    pub batch_size: usize,
    /// How long a caller waits on a full queue before [`Error::QueueFull`] (default 30 s).
    pub send_timeout: Duration,
    /// A partial batch is sent at the latest this long after its first item (default 1 s).
    pub flush_interval: Duration,
}

impl Default for RunLoggerOptions {
    fn default() -> Self {
        Self {
            queue_capacity: 10_000,
            batch_size: 1000,
            send_timeout: Duration::from_secs(30),
            flush_interval: Duration::from_secs(1),
        }
    }
}

impl RunLoggerOptions {
    /// Sets the queue capacity (at least 1).
    pub fn with_queue_capacity(mut self, n: usize) -> Self {
        self.queue_capacity = n.max(1);
        self
    }
    /// Sets the batch size (at least 1).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }
    /// Sets the full-queue timeout.
    pub fn with_send_timeout(mut self, d: Duration) -> Self {
        self.send_timeout = d;
        self
    }
    /// Sets how long a partial batch may wait.
    pub fn with_flush_interval(mut self, d: Duration) -> Self {
        self.flush_interval = d;
        self
    }
}

#[derive(Debug)]
enum Msg {
    Metric(Metric),
    Param(Param),
    Tag(Tag),
    Flush(oneshot::Sender<Vec<Error>>),
}

/// Background-batched logging to one run of any [`Tracker`].
///
/// Must be created inside a tokio runtime (the worker is a tokio task). Call
/// [`RunLogger::close`] at the end: dropping the logger still sends what is queued,
/// but errors can then only be logged, not returned.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_tracking::Result<()> {
/// use mlops_tracking::{EmbeddedTracker, Tracker, TrackerExt, CreateRun, RunLogger, RunLoggerOptions};
/// use std::sync::Arc;
/// let t: Arc<dyn Tracker> = Arc::new(EmbeddedTracker::builder().with_url("memory://").build()?);
/// let exp = t.create_experiment("loop", &[]).await?;
/// let run = t.create_run(&CreateRun::new(exp)).await?;
/// let log = RunLogger::new(t.clone(), run.id(), RunLoggerOptions::default());
/// log.log_param("lr", "0.01").await?;
/// for step in 0..2500 {
///     log.log_metric("loss", 1.0 / (step + 1) as f64, step).await?;
/// }
/// log.close().await?;
/// assert_eq!(t.metric_history(run.id(), "loss").await?.len(), 2500);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RunLogger {
    run_id: String,
    tx: mpsc::Sender<Msg>,
    opts: RunLoggerOptions,
    worker: tokio::task::JoinHandle<()>,
}

impl RunLogger {
    /// Starts a logger for `run_id` on `tracker`.
    pub fn new(tracker: Arc<dyn Tracker>, run_id: &str, opts: RunLoggerOptions) -> Self {
        let opts = RunLoggerOptions {
            queue_capacity: opts.queue_capacity.max(1),
            batch_size: opts.batch_size.max(1),
            ..opts
        };
        let (tx, rx) = mpsc::channel(opts.queue_capacity);
        let worker = tokio::spawn(worker(tracker, run_id.to_string(), rx, opts));
        Self {
            run_id: run_id.to_string(),
            tx,
            opts,
            worker,
        }
    }

    /// The run this logger writes to.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Queues a metric point stamped now. Returns at once unless the queue is full.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad key (checked now); [`Error::QueueFull`] after
    /// waiting `send_timeout` on a full queue; [`Error::LoggerClosed`].
    pub async fn log_metric(&self, key: &str, value: f64, step: i64) -> Result<()> {
        self.log(Metric::new(key, value, step)).await
    }

    /// Queues a metric point as given.
    ///
    /// # Errors
    /// As [`RunLogger::log_metric`].
    pub async fn log(&self, metric: Metric) -> Result<()> {
        crate::types::check_key("metric", &metric.key)?;
        self.send(Msg::Metric(metric)).await
    }

    /// Queues a param (validated now; immutability is checked by the backend).
    ///
    /// # Errors
    /// As [`RunLogger::log_metric`].
    pub async fn log_param(&self, key: &str, value: &str) -> Result<()> {
        Batch::new().param(key, value).validate()?;
        self.send(Msg::Param(Param::new(key, value))).await
    }

    /// Queues a tag.
    ///
    /// # Errors
    /// As [`RunLogger::log_metric`].
    pub async fn set_tag(&self, key: &str, value: &str) -> Result<()> {
        Batch::new().tag(key, value).validate()?;
        self.send(Msg::Tag(Tag::new(key, value))).await
    }

    async fn send(&self, msg: Msg) -> Result<()> {
        match self.tx.try_send(msg) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(msg)) => {
                match tokio::time::timeout(self.opts.send_timeout, self.tx.send(msg)).await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(_)) => Err(self.closed()),
                    Err(_) => Err(Error::QueueFull {
                        run_id: self.run_id.clone(),
                        waited: self.opts.send_timeout,
                    }),
                }
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.closed()),
        }
    }

    fn closed(&self) -> Error {
        Error::LoggerClosed {
            run_id: self.run_id.clone(),
        }
    }

    /// Waits until everything queued so far is stored.
    ///
    /// # Errors
    /// The first batch refused since the last flush, as [`Error::Refused`] (the
    /// message counts the others); [`Error::LoggerClosed`].
    pub async fn flush(&self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Msg::Flush(tx))
            .await
            .map_err(|_| self.closed())?;
        let errors = rx.await.map_err(|_| self.closed())?;
        first_error(errors)
    }

    /// Flushes and stops the worker.
    ///
    /// # Errors
    /// As [`RunLogger::flush`].
    pub async fn close(self) -> Result<()> {
        let res = self.flush().await;
        let RunLogger { tx, worker, .. } = self;
        drop(tx);
        // The worker ends once the queue is closed and drained.
        let _ = worker.await;
        res
    }
}

fn first_error(mut errors: Vec<Error>) -> Result<()> {
    if errors.is_empty() {
        return Ok(());
    }
    let more = errors.len() - 1;
    let first = errors.swap_remove(0);
    if more == 0 {
        return Err(first);
    }
    match first {
        Error::Refused {
            run_id,
            refused,
            source,
        } => Err(Error::Refused {
            run_id,
            refused: format!("{refused} (and {more} more refused batches)"),
            source,
        }),
        other => Err(other),
    }
}

fn describe(b: &Batch) -> String {
    fn keys<'a>(it: impl Iterator<Item = &'a str>) -> String {
        let mut v: Vec<&str> = it.collect();
        v.sort_unstable();
        v.dedup();
        let n = v.len();
        let mut s = v.into_iter().take(8).collect::<Vec<_>>().join(", ");
        if n > 8 {
            s.push_str(&format!(", ... {} more", n - 8));
        }
        s
    }
    let mut parts = Vec::new();
    if !b.metrics.is_empty() {
        parts.push(format!(
            "{} metric points (keys: {})",
            b.metrics.len(),
            keys(b.metrics.iter().map(|m| m.key.as_str()))
        ));
    }
    if !b.params.is_empty() {
        parts.push(format!(
            "{} params ({})",
            b.params.len(),
            keys(b.params.iter().map(|p| p.key.as_str()))
        ));
    }
    if !b.tags.is_empty() {
        parts.push(format!(
            "{} tags ({})",
            b.tags.len(),
            keys(b.tags.iter().map(|t| t.key.as_str()))
        ));
    }
    parts.join(", ")
}

async fn worker(
    tracker: Arc<dyn Tracker>,
    run_id: String,
    mut rx: mpsc::Receiver<Msg>,
    opts: RunLoggerOptions,
) {
    let mut pending = Batch::new();
    let mut errors: Vec<Error> = Vec::new();
    let send = |batch: Batch, errors: &mut Vec<Error>| {
        let tracker = tracker.clone();
        let run_id = run_id.clone();
        let mut errs = std::mem::take(errors);
        async move {
            if !batch.is_empty()
                && let Err(e) = tracker.log_batch(&run_id, &batch).await
            {
                errs.push(Error::Refused {
                    run_id,
                    refused: describe(&batch),
                    source: Box::new(e),
                });
            }
            errs
        }
    };
    // When the oldest queued item arrived: a partial batch waits at most flush_interval.
    let mut oldest: Option<tokio::time::Instant> = None;
    loop {
        let wait = oldest.map_or(opts.flush_interval, |t| {
            opts.flush_interval.saturating_sub(t.elapsed())
        });
        let msg = match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(m)) => Some(m),
            Ok(None) => break,
            Err(_) => None,
        };
        let mut flush_reply = None;
        match msg {
            None => {
                errors = send(std::mem::take(&mut pending), &mut errors).await;
                oldest = None;
                continue;
            }
            Some(m) => push(&mut pending, m, &mut flush_reply),
        }
        oldest.get_or_insert_with(tokio::time::Instant::now);
        // Drain what is already queued, up to one batch.
        while flush_reply.is_none() && pending.len() < opts.batch_size {
            match rx.try_recv() {
                Ok(m) => push(&mut pending, m, &mut flush_reply),
                Err(_) => break,
            }
        }
        let due = oldest.is_some_and(|t| t.elapsed() >= opts.flush_interval);
        if pending.len() >= opts.batch_size || flush_reply.is_some() || due {
            errors = send(std::mem::take(&mut pending), &mut errors).await;
            oldest = None;
        }
        if let Some(reply) = flush_reply {
            // The caller may have given up waiting; nothing else to tell.
            let _ = reply.send(std::mem::take(&mut errors));
        }
    }
    errors = send(pending, &mut errors).await;
    for e in errors {
        tracing::error!(run_id = %run_id, error = %e, "run logger dropped without close: batch refused");
    }
}

fn push(b: &mut Batch, m: Msg, flush: &mut Option<oneshot::Sender<Vec<Error>>>) {
    match m {
        Msg::Metric(x) => b.metrics.push(x),
        Msg::Param(x) => b.params.push(x),
        Msg::Tag(x) => b.tags.push(x),
        Msg::Flush(tx) => *flush = Some(tx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::EmbeddedTracker;
    use crate::tracker::TrackerExt;
    use crate::types::CreateRun;
    use mlops_core::ErrorKind;

    async fn setup() -> (Arc<dyn Tracker>, String) {
        let t: Arc<dyn Tracker> = Arc::new(
            EmbeddedTracker::builder()
                .with_url("memory://")
                .build()
                .unwrap(),
        );
        let exp = t.create_experiment("logger", &[]).await.unwrap();
        let run = t.create_run(&CreateRun::new(exp)).await.unwrap();
        (t, run.info.run_id)
    }

    #[tokio::test]
    async fn flush_makes_everything_durable() {
        let (t, run) = setup().await;
        let log = RunLogger::new(
            t.clone(),
            &run,
            RunLoggerOptions::default()
                .with_batch_size(7)
                .with_flush_interval(Duration::from_secs(60)),
        );
        for i in 0..100 {
            log.log_metric("x", i as f64, i).await.unwrap();
        }
        log.flush().await.unwrap();
        let h = t.metric_history(&run, "x").await.unwrap();
        assert_eq!(h.len(), 100);
        assert_eq!(h[99].value, 99.0);
        log.close().await.unwrap();
    }

    #[tokio::test]
    async fn a_trickle_is_sent_within_the_flush_interval() {
        let (t, run) = setup().await;
        let log = RunLogger::new(
            t.clone(),
            &run,
            RunLoggerOptions::default().with_flush_interval(Duration::from_millis(30)),
        );
        for i in 0..5 {
            log.log_metric("slow", i as f64, i).await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // no flush: the worker sends on its own once the oldest point is 30 ms old
        let mut seen = 0;
        for _ in 0..200 {
            seen = t.metric_history(&run, "slow").await.unwrap().len();
            if seen == 5 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen, 5);
        log.close().await.unwrap();
    }

    #[tokio::test]
    async fn refused_batch_is_reported_by_name() {
        let (t, run) = setup().await;
        t.log_param(&run, "lr", "0.1").await.unwrap();
        let log = RunLogger::new(t.clone(), &run, RunLoggerOptions::default());
        log.log_metric("loss", 1.0, 0).await.unwrap();
        log.log_param("lr", "0.2").await.unwrap();
        let e = log.flush().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Conflict);
        let s = e.to_string();
        assert!(
            s.contains("1 params (lr)") && s.contains("1 metric points (keys: loss)"),
            "{s}"
        );
        // later batches still go through, and the error is reported once
        log.log_metric("loss", 2.0, 1).await.unwrap();
        log.close().await.unwrap();
        assert_eq!(t.metric_history(&run, "loss").await.unwrap().len(), 1);
    }

    #[derive(Debug)]
    struct Stuck(Arc<dyn Tracker>, Arc<tokio::sync::Notify>);
    impl std::fmt::Display for Stuck {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Stuck")
        }
    }

    #[async_trait::async_trait]
    impl Tracker for Stuck {
        fn capabilities(&self) -> crate::Capabilities {
            self.0.capabilities()
        }
        fn uri(&self) -> String {
            self.0.uri()
        }
        async fn create_experiment(&self, n: &str, t: &[Tag]) -> Result<String> {
            self.0.create_experiment(n, t).await
        }
        async fn get_experiment(&self, id: &str) -> Result<crate::Experiment> {
            self.0.get_experiment(id).await
        }
        async fn get_experiment_by_name(&self, n: &str) -> Result<crate::Experiment> {
            self.0.get_experiment_by_name(n).await
        }
        async fn search_experiments(
            &self,
            q: &crate::SearchExperiments,
        ) -> Result<crate::Page<crate::Experiment>> {
            self.0.search_experiments(q).await
        }
        async fn rename_experiment(&self, id: &str, n: &str) -> Result<()> {
            self.0.rename_experiment(id, n).await
        }
        async fn set_experiment_tag(&self, id: &str, k: &str, v: &str) -> Result<()> {
            self.0.set_experiment_tag(id, k, v).await
        }
        async fn delete_experiment(&self, id: &str) -> Result<()> {
            self.0.delete_experiment(id).await
        }
        async fn restore_experiment(&self, id: &str) -> Result<()> {
            self.0.restore_experiment(id).await
        }
        async fn create_run(&self, r: &CreateRun) -> Result<crate::Run> {
            self.0.create_run(r).await
        }
        async fn get_run(&self, id: &str) -> Result<crate::Run> {
            self.0.get_run(id).await
        }
        async fn update_run(
            &self,
            id: &str,
            s: crate::RunStatus,
            e: Option<i64>,
        ) -> Result<crate::RunInfo> {
            self.0.update_run(id, s, e).await
        }
        async fn delete_run(&self, id: &str) -> Result<()> {
            self.0.delete_run(id).await
        }
        async fn restore_run(&self, id: &str) -> Result<()> {
            self.0.restore_run(id).await
        }
        async fn search_runs(&self, q: &crate::SearchRuns) -> Result<crate::Page<crate::Run>> {
            self.0.search_runs(q).await
        }
        async fn log_batch(&self, id: &str, b: &Batch) -> Result<()> {
            // Block until released: the queue fills up behind us.
            self.1.notified().await;
            self.0.log_batch(id, b).await
        }
        async fn metric_histories(
            &self,
            id: &str,
            k: &[String],
        ) -> Result<std::collections::BTreeMap<String, Vec<Metric>>> {
            self.0.metric_histories(id, k).await
        }
        async fn log_artifact(
            &self,
            id: &str,
            p: &str,
            b: bytes::Bytes,
        ) -> Result<crate::LoggedArtifact> {
            self.0.log_artifact(id, p, b).await
        }
        async fn list_artifacts(
            &self,
            id: &str,
            d: Option<&str>,
        ) -> Result<Vec<crate::ArtifactEntry>> {
            self.0.list_artifacts(id, d).await
        }
        async fn download_artifact(&self, id: &str, p: &str) -> Result<bytes::Bytes> {
            self.0.download_artifact(id, p).await
        }
    }

    #[tokio::test]
    async fn full_queue_errors_after_the_timeout_and_drops_nothing() {
        let (t, run) = setup().await;
        let gate = Arc::new(tokio::sync::Notify::new());
        let stuck: Arc<dyn Tracker> = Arc::new(Stuck(t.clone(), gate.clone()));
        let log = RunLogger::new(
            stuck,
            &run,
            RunLoggerOptions::default()
                .with_queue_capacity(4)
                .with_batch_size(2)
                .with_send_timeout(Duration::from_millis(50)),
        );
        let mut accepted = 0;
        let mut refused = None;
        for i in 0..50 {
            match log.log_metric("x", i as f64, i).await {
                Ok(()) => accepted += 1,
                Err(e) => {
                    refused = Some(e);
                    break;
                }
            }
        }
        let e = refused.expect("the queue must fill up");
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(e.to_string().contains("stayed full"), "{e}");
        // release the backend: every accepted point lands, the refused one does not
        let releaser = tokio::spawn(async move {
            for _ in 0..5000 {
                gate.notify_one();
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        });
        log.close().await.unwrap();
        releaser.abort();
        assert_eq!(t.metric_history(&run, "x").await.unwrap().len(), accepted);
    }
}
