//! [`AuditLog`]: group commit into chained, sequenced, create-only segments.

use super::event::{AuditEvent, AuditQuery, AuditRecord};
use super::segment;
use crate::error::{Error, Result};
use crate::seq::SeqLog;
use crate::store::Storage;
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// Options of an [`AuditLog`].
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// Pending events that wake the background committer early (default 1,000).
    pub batch_size: usize,
    /// How long the background committer lets events wait before writing them
    /// (default 100 ms). `None`: no background task; only [`AuditLog::flush`] writes.
    pub linger: Option<Duration>,
    /// Write a checkpoint each time the head crosses a multiple of this many events
    /// (default 10,000; 0 = only on [`AuditLog::checkpoint`] and [`AuditLog::close`]).
    pub checkpoint_every: u64,
    /// Where checkpoints go (default: beside the segments). Put them on another store,
    /// or another account, so that rewriting the log alone is detected.
    pub checkpoint_storage: Option<Storage>,
}

impl Default for AuditOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            linger: Some(Duration::from_millis(100)),
            checkpoint_every: 10_000,
            checkpoint_storage: None,
        }
    }
}

impl AuditOptions {
    /// Sets [`AuditOptions::batch_size`].
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Sets [`AuditOptions::linger`].
    pub fn with_linger(mut self, linger: Option<Duration>) -> Self {
        self.linger = linger;
        self
    }

    /// Sets [`AuditOptions::checkpoint_every`].
    pub fn with_checkpoint_every(mut self, events: u64) -> Self {
        self.checkpoint_every = events;
        self
    }

    /// Sets [`AuditOptions::checkpoint_storage`].
    pub fn with_checkpoint_storage(mut self, storage: Storage) -> Self {
        self.checkpoint_storage = Some(storage);
        self
    }
}

/// A checkpointed head: record `seq` (the last of segment `segment`) has hash `hash`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) segment: u64,
    pub(crate) seq: u64,
    pub(crate) hash: crate::Digest,
}

/// Where this writer will append next.
#[derive(Debug, Clone, Copy)]
struct Tail {
    loaded: bool,
    next_segment: u64,
    last_seq: u64,
    last_hash: [u8; 32],
}

pub(crate) struct Inner {
    pub(crate) url: String,
    pub(crate) segments: SeqLog,
    pub(crate) checkpoints: SeqLog,
    pending: Mutex<Vec<AuditEvent>>,
    tail: tokio::sync::Mutex<Tail>,
    opts: AuditOptions,
    wake: Arc<Notify>,
    /// Create races this handle lost (and recovered from by re-chaining).
    pub(crate) lost_races: std::sync::atomic::AtomicU64,
}

/// An append-only, tamper-evident audit log on any [`Storage`].
///
/// - [`record`](AuditLog::record) is cheap and synchronous: it queues the event.
///   A background task (see [`AuditOptions::linger`]) or [`flush`](AuditLog::flush)
///   writes queued events as one **segment**: an immutable object at
///   `segments/<n:020>`, created with create-only semantics ([`SeqLog`]).
/// - Each record holds the previous record's hash and its own
///   `blake3(prev || canonical JSON)`, across segments and across writers.
/// - Several writers (tasks or processes) share one chain: a writer that loses the
///   create race for segment `n` reads `n` (or the newest segment), re-chains its
///   batch onto that segment's last hash and tries the next number. The chain never
///   forks and no event is lost.
/// - Checkpoints (`checkpoints/<n:020>`: segment, seq and hash of the head) let
///   [`verify`](AuditLog::verify) detect a truncated tail.
///
/// Events still queued when the last handle is dropped are lost: call
/// [`close`](AuditLog::close) (or `flush`) first.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use mlops_core::{Action, Principal, Storage, audit::{AuditEvent, AuditLog, AuditQuery, Outcome}};
/// let log = AuditLog::open(&Storage::memory()).await?;
/// let alice = Principal::user("alice");
/// log.record(AuditEvent::new(&alice, Action::Write, "model:fraud".parse()?, Outcome::Allowed));
/// log.record(AuditEvent::new(&alice, Action::Promote, "model:fraud@production".parse()?, Outcome::Denied));
/// log.flush().await?;
/// let report = log.verify().await?;
/// assert!(report.is_clean());
/// assert_eq!(report.records, 2);
/// let denied = log.query(&AuditQuery::new().with_action(Action::Promote)).await?;
/// assert_eq!(denied.len(), 1);
/// assert_eq!(denied[0].seq, 2);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuditLog {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Display for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditLog({})", self.inner.url)
    }
}

impl AuditLog {
    /// Opens the log under `storage` with default options.
    ///
    /// # Errors
    /// None today (the storage is first touched on the first write); kept fallible so
    /// that options can be validated.
    pub async fn open(storage: &Storage) -> Result<Self> {
        Self::open_opts(storage, AuditOptions::default()).await
    }

    /// Opens the log under `storage`. Spawns the background committer when
    /// `opts.linger` is set (so it must run inside a tokio runtime).
    ///
    /// # Errors
    /// `InvalidArgument` for an unusable storage prefix.
    pub async fn open_opts(storage: &Storage, opts: AuditOptions) -> Result<Self> {
        let cp_storage = opts.checkpoint_storage.as_ref().unwrap_or(storage);
        let inner = Arc::new(Inner {
            url: storage.url().to_string(),
            segments: SeqLog::new(storage, "segments")?,
            checkpoints: SeqLog::new(cp_storage, "checkpoints")?,
            pending: Mutex::new(Vec::new()),
            tail: tokio::sync::Mutex::new(Tail {
                loaded: false,
                next_segment: 1,
                last_seq: 0,
                last_hash: segment::GENESIS,
            }),
            wake: Arc::new(Notify::new()),
            lost_races: std::sync::atomic::AtomicU64::new(0),
            opts,
        });
        if let Some(linger) = inner.opts.linger {
            tokio::spawn(committer(
                Arc::downgrade(&inner),
                inner.wake.clone(),
                linger,
            ));
        }
        Ok(Self { inner })
    }

    /// Queues `event` for the next commit. Never blocks on I/O.
    pub fn record(&self, event: AuditEvent) {
        let n = {
            let mut p = self.inner.pending();
            p.push(event);
            p.len()
        };
        if n >= self.inner.opts.batch_size {
            self.inner.wake.notify_one();
        }
    }

    /// Events queued and not yet written.
    pub fn pending(&self) -> usize {
        self.inner.pending().len()
    }

    /// Returns when every event recorded before this call is durable (written in a
    /// segment), writing the queued ones as one segment if needed.
    ///
    /// **Behavior**: on failure the events stay queued, in order, for the next flush.
    ///
    /// # Errors
    /// Store failures; `Integrity` if the newest segment cannot be chained onto.
    pub async fn flush(&self) -> Result<()> {
        self.inner.commit().await
    }

    /// Flushes, then writes a checkpoint of the head.
    ///
    /// # Errors
    /// As [`AuditLog::flush`], plus store failures writing the checkpoint.
    pub async fn checkpoint(&self) -> Result<()> {
        self.inner.commit().await?;
        let mut tail = self.inner.tail.lock().await;
        if !tail.loaded {
            *tail = self.inner.load_tail().await?;
        }
        if tail.last_seq > 0 {
            self.inner.write_checkpoint(&tail).await?;
        }
        Ok(())
    }

    /// Flushes and checkpoints; call before dropping the last handle.
    ///
    /// # Errors
    /// As [`AuditLog::checkpoint`].
    pub async fn close(&self) -> Result<()> {
        self.checkpoint().await
    }

    /// Every stored record matching `q`, in log order (no chain check; see
    /// [`AuditLog::verify`]).
    ///
    /// # Errors
    /// Store failures; `Integrity` for a record that cannot be parsed.
    pub async fn records(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let seqs = self.inner.segments.list_from(1).await?;
        let mut out = Vec::new();
        let mut stream = futures::stream::iter(seqs)
            .map(|s| async move { self.inner.segments.get(s).await.map(|b| (s, b)) })
            .buffered(8);
        while let Some((s, bytes)) = stream.try_next().await? {
            for (i, line) in segment::lines(&bytes).enumerate() {
                let rec = line
                    .and_then(segment::parse_line)
                    .map_err(str::to_string)
                    .and_then(|l| l.record())
                    .map_err(|reason| Error::Integrity {
                        what: format!("audit log segment {s} record {i}"),
                        expected: "a well-formed record".into(),
                        actual: reason,
                    })?;
                if q.matches(&rec.event) {
                    out.push(rec);
                }
            }
        }
        Ok(out)
    }

    /// Every stored event matching `q`, in log order.
    ///
    /// # Errors
    /// As [`AuditLog::records`].
    pub async fn query(&self, q: &AuditQuery) -> Result<Vec<AuditEvent>> {
        Ok(self
            .records(q)
            .await?
            .into_iter()
            .map(|r| r.event)
            .collect())
    }

    /// Writes the records matching `q` to `out` as JSON lines (the event's fields plus
    /// `prev_hash` and `hash`), for ELK, Loki and friends. Returns the number written.
    ///
    /// # Errors
    /// As [`AuditLog::records`]; `Io` when writing fails.
    pub async fn export_jsonl<W: std::io::Write + Send>(
        &self,
        q: &AuditQuery,
        out: &mut W,
    ) -> Result<u64> {
        let recs = self.records(q).await?;
        let io = |e: std::io::Error| Error::io("<audit export>", e);
        for r in &recs {
            serde_json::to_writer(&mut *out, r).map_err(|e| io(e.into()))?;
            out.write_all(b"\n").map_err(io)?;
        }
        out.flush().map_err(io)?;
        Ok(recs.len() as u64)
    }
}

/// The background committer: writes when woken (batch full) or after `linger`.
/// Holds only a weak reference, so it ends once the log is dropped.
async fn committer(inner: Weak<Inner>, wake: Arc<Notify>, linger: Duration) {
    loop {
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(linger) => {}
        }
        let Some(inner) = inner.upgrade() else { break };
        if !inner.pending().is_empty()
            && let Err(e) = inner.commit().await
        {
            tracing::warn!(log = %inner.url, error = %e, "audit commit failed; events stay queued");
        }
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("url", &self.url)
            .field("pending", &self.pending().len())
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn pending(&self) -> MutexGuard<'_, Vec<AuditEvent>> {
        // A panic while holding this lock can only interrupt a Vec push or take,
        // which leaves the Vec valid, so a poisoned lock is safe to reuse.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes everything queued. Taking the queue while holding the tail lock makes
    /// `flush` exact: a flusher whose events were taken by another committer waits
    /// for that commit to finish (or to fail and put them back).
    async fn commit(&self) -> Result<()> {
        let mut tail = self.tail.lock().await;
        let mut batch = std::mem::take(&mut *self.pending());
        if batch.is_empty() {
            return Ok(());
        }
        let before = tail.last_seq;
        if let Err(e) = self.commit_batch(&mut tail, &mut batch).await {
            let mut p = self.pending();
            batch.append(&mut p);
            *p = batch;
            return Err(e);
        }
        let every = self.opts.checkpoint_every;
        if every > 0 && before / every != tail.last_seq / every {
            self.write_checkpoint(&tail).await?;
        }
        Ok(())
    }

    async fn commit_batch(&self, tail: &mut Tail, batch: &mut [AuditEvent]) -> Result<()> {
        if !tail.loaded {
            *tail = self.load_tail().await?;
        }
        loop {
            let (bytes, last_seq, last_hash) =
                segment::encode(batch, tail.last_seq + 1, tail.last_hash)?;
            if self
                .segments
                .try_put(tail.next_segment, bytes.into())
                .await?
            {
                *tail = Tail {
                    loaded: true,
                    next_segment: tail.next_segment + 1,
                    last_seq,
                    last_hash,
                };
                return Ok(());
            }
            // Lost the race for this number: chain onto the newest segment instead.
            self.lost_races
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let newer = self.segments.list_from(tail.next_segment).await?;
            let head = newer.last().copied().unwrap_or(tail.next_segment);
            *tail = self.tail_at(head).await?;
        }
    }

    async fn load_tail(&self) -> Result<Tail> {
        match self.segments.head().await? {
            None => Ok(Tail {
                loaded: true,
                next_segment: 1,
                last_seq: 0,
                last_hash: segment::GENESIS,
            }),
            Some(h) => self.tail_at(h).await,
        }
    }

    async fn tail_at(&self, segment_no: u64) -> Result<Tail> {
        let bytes = self.segments.get(segment_no).await?;
        let (last_seq, last_hash) = segment::last_link(&bytes, &format!("segment {segment_no}"))?;
        Ok(Tail {
            loaded: true,
            next_segment: segment_no + 1,
            last_seq,
            last_hash,
        })
    }

    async fn write_checkpoint(&self, tail: &Tail) -> Result<()> {
        let cp = Checkpoint {
            segment: tail.next_segment - 1,
            seq: tail.last_seq,
            hash: crate::Digest::from_hash(blake3::Hash::from_bytes(tail.last_hash)),
        };
        let bytes = serde_json::to_vec(&cp)
            .map_err(|e| Error::backend("audit", format!("encoding a checkpoint: {e}")))?;
        self.checkpoints.append(bytes.into()).await?;
        Ok(())
    }
}
