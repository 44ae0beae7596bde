//! Sequenced, create-only keys: the one concurrency mechanism of every crate.
//!
//! State changes are immutable records at keys `<dir>/<seq:020>`, written with
//! `PutMode::Create` (create-if-absent). Two writers racing for the same number:
//! exactly one wins, the loser moves on to the next number. No lock files, no
//! last-writer-wins, no `PutMode::Update` (which `file://` does not implement).
//! Numbers start at 1 and have no gaps, because a writer only ever claims the
//! lowest number it has not seen taken.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::{Storage, seq::SeqLog};
//! let s = Storage::memory();
//! let log = SeqLog::new(&s, "models/fraud/versions")?;
//! assert_eq!(log.append("v1".into()).await?, 1);
//! assert_eq!(log.append("v2".into()).await?, 2);
//! assert_eq!(log.head().await?, Some(2));
//! assert_eq!(&log.get(1).await?[..], b"v1");
//! # Ok(()) }
//! ```

use crate::error::{Error, Result};
use crate::store::Storage;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod local;

/// Width of the zero-padded sequence number in keys, so keys sort numerically.
pub const SEQ_WIDTH: usize = 20;

/// A directory of sequenced, create-only records.
#[derive(Debug)]
pub struct SeqLog {
    store: Arc<dyn ObjectStore>,
    dir: Path,
    /// The lowest number not yet known to be taken (a hint; 0 = unknown).
    next_hint: AtomicU64,
    /// Appends go straight to the `file://` directory ([`local`]) when set.
    local: Option<local::LocalPublisher>,
}

impl SeqLog {
    /// A log at `dir` below the storage prefix.
    ///
    /// # Errors
    /// `InvalidArgument` for an unsafe `dir`.
    pub fn new(storage: &Storage, dir: &str) -> Result<Self> {
        Ok(Self {
            store: storage.store().clone(),
            dir: storage.path(dir)?,
            next_hint: AtomicU64::new(0),
            local: None,
        })
    }

    /// Appends through `publisher` ([`local::LocalPublisher`]: one flush per
    /// record, or group-committed) instead of the object store's put. Only for a
    /// publisher made for the same `file://` storage
    /// ([`LocalPublisher::for_storage`](local::LocalPublisher::for_storage)); its
    /// readers must skip records cut short by a crash (see [`local`]).
    #[must_use]
    pub fn with_local(mut self, publisher: local::LocalPublisher) -> Self {
        self.local = Some(publisher);
        self
    }

    /// The lowest number not yet known to be taken (0 = unknown): a number below
    /// it that is absent is a hole a crash left, never a write still to come.
    pub fn next_hint(&self) -> u64 {
        self.next_hint.load(Ordering::Relaxed)
    }

    /// The key of record `seq`.
    pub fn key(&self, seq: u64) -> Path {
        self.dir.clone().join(format!("{seq:0SEQ_WIDTH$}"))
    }

    /// Tries to create record `seq`. `Ok(true)` if this call created it,
    /// `Ok(false)` if it existed already (someone else won).
    ///
    /// # Errors
    /// Store failures other than "already exists".
    pub async fn try_put(&self, seq: u64, payload: Bytes) -> Result<bool> {
        let key = self.key(seq);
        let opts = PutOptions::from(PutMode::Create);
        match self
            .store
            .put_opts(&key, PutPayload::from(payload), opts)
            .await
        {
            Ok(_) => {
                self.next_hint.fetch_max(seq + 1, Ordering::Relaxed);
                Ok(true)
            }
            Err(object_store::Error::AlreadyExists { .. }) => {
                self.next_hint.fetch_max(seq + 1, Ordering::Relaxed);
                Ok(false)
            }
            Err(e) => Err(Error::store(&key, e)),
        }
    }

    /// Appends `payload` at the lowest free number and returns that number.
    ///
    /// # Errors
    /// Store failures.
    pub async fn append(&self, payload: Bytes) -> Result<u64> {
        let mut seq = match self.next_hint.load(Ordering::Relaxed) {
            0 => self.head().await?.map_or(1, |h| h + 1),
            n => n,
        };
        if let Some(local) = &self.local {
            let seq = local.create(self.dir.as_ref(), seq, payload).await?;
            self.next_hint.fetch_max(seq + 1, Ordering::Relaxed);
            return Ok(seq);
        }
        loop {
            if self.try_put(seq, payload.clone()).await? {
                return Ok(seq);
            }
            seq += 1;
        }
    }

    /// The highest existing number, if any (one listing).
    ///
    /// # Errors
    /// Store failures.
    pub async fn head(&self) -> Result<Option<u64>> {
        let all = self.list_from(0).await?;
        let h = all.last().copied();
        if let Some(h) = h {
            self.next_hint.fetch_max(h + 1, Ordering::Relaxed);
        }
        Ok(h)
    }

    /// Numbers `>= from`, ascending.
    ///
    /// # Errors
    /// Store failures.
    pub async fn list_from(&self, from: u64) -> Result<Vec<u64>> {
        let stream = if from > 0 {
            let offset = self.key(from - 1);
            self.store.list_with_offset(Some(&self.dir), &offset)
        } else {
            self.store.list(Some(&self.dir))
        };
        let metas: Vec<_> = stream
            .try_collect()
            .await
            .map_err(|e| Error::store(&self.dir, e))?;
        let mut out: Vec<u64> = metas
            .iter()
            .filter_map(|m| m.location.filename())
            .filter(|f| f.len() == SEQ_WIDTH)
            .filter_map(|f| f.parse().ok())
            .filter(|n| *n >= from)
            .collect();
        out.sort_unstable();
        Ok(out)
    }

    /// Reads record `seq`.
    ///
    /// # Errors
    /// `NotFound` if it does not exist; other store failures.
    pub async fn get(&self, seq: u64) -> Result<Bytes> {
        let key = self.key(seq);
        if let Some(local) = &self.local {
            return local
                .read(self.dir.as_ref(), seq)?
                .ok_or_else(|| Error::not_found("record", key.as_ref()));
        }
        let got = self
            .store
            .get(&key)
            .await
            .map_err(|e| Error::store(&key, e))?;
        got.bytes().await.map_err(|e| Error::store(&key, e))
    }

    /// Reads every record `>= from`, in order.
    ///
    /// # Errors
    /// Store failures.
    pub async fn read_from(&self, from: u64) -> Result<Vec<(u64, Bytes)>> {
        let seqs = self.list_from(from).await?;
        let fetched = futures::stream::iter(seqs.into_iter().map(|s| async move {
            let b = self.get(s).await?;
            Ok::<_, Error>((s, b))
        }))
        .buffered(16)
        .try_collect::<Vec<_>>()
        .await?;
        Ok(fetched)
    }
}

use futures::StreamExt;

#[cfg(test)]
mod tests {
    use super::*;

    async fn race(storage: Storage) {
        let log = Arc::new(SeqLog::new(&storage, "race").unwrap());
        let mut tasks = vec![];
        for i in 0..16 {
            let log = Arc::new(SeqLog::new(&storage, "race").unwrap());
            let _ = &log;
            tasks.push(tokio::spawn(async move {
                log.append(Bytes::from(format!("w{i}"))).await.unwrap()
            }));
        }
        let mut got = vec![];
        for t in tasks {
            got.push(t.await.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (1..=16).collect::<Vec<_>>());
        assert_eq!(log.head().await.unwrap(), Some(16));
        let all = log.read_from(1).await.unwrap();
        assert_eq!(all.len(), 16);
        // every writer's payload is present exactly once
        let mut payloads: Vec<_> = all
            .iter()
            .map(|(_, b)| String::from_utf8(b.to_vec()).unwrap())
            .collect();
        payloads.sort();
        payloads.dedup();
        assert_eq!(payloads.len(), 16);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixteen_writers_memory() {
        race(Storage::memory()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sixteen_writers_file() {
        let dir = tempfile::tempdir().unwrap();
        race(Storage::from_url(dir.path().to_str().unwrap()).unwrap()).await;
    }

    #[tokio::test]
    async fn list_from_offset() {
        let s = Storage::memory();
        let log = SeqLog::new(&s, "x").unwrap();
        for _ in 0..5 {
            log.append("p".into()).await.unwrap();
        }
        assert_eq!(log.list_from(3).await.unwrap(), vec![3, 4, 5]);
        assert_eq!(
            log.get(9).await.unwrap_err().kind(),
            crate::ErrorKind::NotFound
        );
    }
}
