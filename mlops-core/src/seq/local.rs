//! The `file://` write path for sequenced records: one flush per record, or
//! flushes grouped in the background ([`Durability`]).
//!
//! object_store's `LocalFileSystem` publishes a `PutMode::Create` object in two
//! flushes: `fsync` of the staged file, hard link to the key, `fsync` of the
//! directory. Each flush is a journal commit plus a device cache flush, and they
//! are nearly the whole cost of a durable small record. [`LocalPublisher`] writes
//! the staged file, hard-links it to the key (`EEXIST` = the number is taken: try
//! the next one, so keys stay create-only and are never overwritten), unlinks the
//! staging name, and then:
//!
//! - [`Durability::Flush`]: `fsync`s the file once before returning. On a
//!   journaling filesystem that one `fsync` makes the link durable too: the link
//!   changed the inode (its link count) in the same transaction as the directory
//!   entry, and committing the inode's latest transaction commits it (btrfs logs
//!   the file's new names with it). That holds for ext4, XFS and btrfs, detected
//!   with `statfs`; on any other filesystem (and off Linux) the directory is
//!   `fsync`ed as well, as POSIX asks. Other files' records are not necessarily
//!   made durable with it (btrfs, ext4 with fast commits), so after a crash a
//!   later record can exist where an earlier one, whose call never returned, does
//!   not: readers step over such a hole.
//! - [`Durability::Deferred`]: returns at once; a background flusher makes every
//!   record published since its last round durable within the window with one
//!   `syncfs` (group commit: one journal commit and one device flush per round),
//!   and [`LocalPublisher::flush`] is the barrier. The record is visible
//!   to every process and survives a killed process when the call returns (it is
//!   in the page cache under its final name); an OS crash or power loss may lose
//!   the records of the last window, never reorders them (the journal commits
//!   names in order), and may leave the newest ones torn, which readers skip.
//!   Only on journaling filesystems: elsewhere it acts as `Flush`.
//! - [`Durability::Off`]: never flushes (the store option `fsync=false`).
//!
//! A crash between the link and the end of the flush can leave a published
//! record with missing bytes. Its write never returned (or, deferred, was within
//! the loss window), so readers must treat a record that is cut short as absent:
//! each caller's format says how it tells (the tracker's Arrow end-of-stream
//! marker, the registry's JSON end). Staging names are `<key>#<n>`, which
//! object_store's listing and [`SeqLog`](super::SeqLog) both ignore.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::seq::local::{Durability, LocalPublisher};
//! let dir = tempfile::tempdir().unwrap();
//! let p = LocalPublisher::new(dir.path().into(), Durability::Deferred { within: Durability::WINDOW });
//! assert_eq!(p.create("models/m/versions", 1, "{}".into()).await?, 1);
//! assert_eq!(p.create("models/m/versions", 1, "{}".into()).await?, 2); // 1 is taken
//! p.flush().await?; // both are durable now
//! assert_eq!(std::fs::read(dir.path().join("models/m/versions/00000000000000000002")).unwrap(), b"{}");
//! # Ok(()) }
//! ```

use super::SEQ_WIDTH;
use crate::error::{Error, Result};
use bytes::Bytes;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

/// How durable a record is when the call that wrote it returns (`file://` only:
/// object stores acknowledge a `PUT` once it is durable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Flushed to the disk before the call returns (the default).
    Flush,
    /// Visible and safe from a killed process at once; flushed by a background
    /// group commit no later than `within` afterwards (or at
    /// [`LocalPublisher::flush`]). An OS crash may lose the last `within` of
    /// records, in order, like PostgreSQL's `synchronous_commit = off`.
    Deferred {
        /// The longest a returned record waits for its flush.
        within: Duration,
    },
    /// Never flushed (`fsync=false`): for tests and scratch data.
    Off,
}

impl Durability {
    /// The default window of [`Durability::Deferred`]: 100 ms.
    pub const WINDOW: Duration = Duration::from_millis(100);

    /// The durability that storage options ask for: the `durability` option if
    /// present, else `Off` for `fsync=false`, else `None` (the caller's default).
    ///
    /// ```
    /// use mlops_core::seq::local::Durability;
    /// let opts = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    /// assert_eq!(Durability::from_options(&opts("fsync", "false")).unwrap(), Some(Durability::Off));
    /// assert_eq!(Durability::from_options(&opts("FSYNC", "true")).unwrap(), None);
    /// assert_eq!(Durability::from_options(&opts("durability", "flush")).unwrap(), Some(Durability::Flush));
    /// assert!(Durability::from_options(&opts("fsync", "maybe")).is_err());
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` naming a bad value.
    pub fn from_options(opts: &[(String, String)]) -> Result<Option<Self>> {
        let get = |key: &str| {
            opts.iter()
                .rev()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        if let Some(v) = get("durability") {
            return Self::parse(v).map(Some);
        }
        match get("fsync") {
            None => Ok(None),
            Some(v) => Ok((!crate::store::parse_bool("fsync", v)?).then_some(Self::Off)),
        }
    }

    /// Parses `flush`, `deferred`, `deferred:<n>ms` or `off`.
    ///
    /// ```
    /// use mlops_core::seq::local::Durability;
    /// use std::time::Duration;
    /// assert_eq!(Durability::parse("flush").unwrap(), Durability::Flush);
    /// assert_eq!(Durability::parse("deferred:20ms").unwrap(),
    ///            Durability::Deferred { within: Duration::from_millis(20) });
    /// assert!(Durability::parse("later").is_err());
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` naming the value.
    pub fn parse(value: &str) -> Result<Self> {
        let bad = |why: &str| Error::invalid("durability", value, why);
        match value {
            "flush" => Ok(Self::Flush),
            "off" => Ok(Self::Off),
            "deferred" => Ok(Self::Deferred {
                within: Self::WINDOW,
            }),
            other => {
                let ms = other
                    .strip_prefix("deferred:")
                    .and_then(|s| s.strip_suffix("ms"))
                    .ok_or_else(|| bad("expected flush, deferred, deferred:<n>ms or off"))?;
                match ms.parse::<u64>() {
                    Ok(n) if (1..=60_000).contains(&n) => Ok(Self::Deferred {
                        within: Duration::from_millis(n),
                    }),
                    _ => Err(bad("the window must be 1 to 60000 ms")),
                }
            }
        }
    }
}

/// Writes sequenced records straight onto the directory a `file://` storage
/// maps to. Clones share one flusher.
#[derive(Debug, Clone)]
pub struct LocalPublisher {
    shared: Arc<Shared>,
}

/// The records a deferred round will flush: how many, and the first one (its
/// open file is the handle `syncfs` needs; its path names it in errors).
#[derive(Debug, Default)]
struct Pending {
    first: Option<(PathBuf, File)>,
    count: usize,
}

#[derive(Debug)]
struct Shared {
    root: PathBuf,
    durability: Durability,
    /// Also `fsync` the directory (filesystems not known to journal the link).
    sync_dir: bool,
    /// Deferred: records published and not yet flushed.
    pending: Mutex<Pending>,
    /// Held for a whole flush round, so a barrier waits for a round in flight.
    round: Mutex<()>,
    /// A background flush that failed: reported by the next call.
    failed: Mutex<Option<String>>,
}

/// Deferred records waiting beyond this count are flushed by the writer itself
/// (a bound on what an OS crash can take, besides the window).
const PENDING_MAX: usize = 256;

impl LocalPublisher {
    /// A publisher under `root` (the storage's directory), probing its filesystem.
    /// `Deferred` starts a flusher thread, which ends after the last clone drops.
    pub fn new(root: PathBuf, durability: Durability) -> Self {
        let journals = journals_links(&root);
        let durability = match durability {
            Durability::Deferred { .. } if !journals => Durability::Flush,
            d => d,
        };
        let shared = Arc::new(Shared {
            sync_dir: durability == Durability::Flush && !journals,
            root,
            durability,
            pending: Mutex::default(),
            round: Mutex::default(),
            failed: Mutex::default(),
        });
        if let Durability::Deferred { within } = durability {
            let weak = Arc::downgrade(&shared);
            let spawned = std::thread::Builder::new()
                .name("mlops-flusher".into())
                .spawn(move || flusher(&weak, within));
            if let Err(e) = spawned {
                // No thread: every writer past PENDING_MAX and every barrier still flush.
                tracing::warn!(error = %e, "could not start the flusher thread");
            }
        }
        Self { shared }
    }

    /// A publisher for `storage` when it is a `file://` directory opened from its
    /// URL ([`Storage::local_dir`](crate::Storage::local_dir)), `None` otherwise.
    pub fn for_storage(storage: &crate::Storage, durability: Durability) -> Option<Self> {
        storage
            .local_dir()
            .map(|dir| Self::new(dir.to_path_buf(), durability))
    }

    /// The durability in force (`Deferred` becomes `Flush` on a filesystem that
    /// does not journal links in order).
    pub fn durability(&self) -> Durability {
        self.shared.durability
    }

    /// Whether the directory is `fsync`ed after each record too.
    pub fn syncs_directory(&self) -> bool {
        self.shared.sync_dir
    }

    /// The directory the object key `key_dir` maps to.
    fn dir(&self, key_dir: &str) -> PathBuf {
        key_dir
            .split('/')
            .filter(|s| !s.is_empty())
            .fold(self.shared.root.clone(), |p, s| p.join(s))
    }

    /// Creates `<key_dir>/<seq>` holding `bytes` for the lowest free `seq >= start`
    /// (create-only) and returns `seq`. `key_dir` is the object key of the directory.
    ///
    /// # Errors
    /// I/O failures, naming the file; an earlier background flush that failed.
    pub async fn create(&self, key_dir: &str, start: u64, bytes: Bytes) -> Result<u64> {
        let dir = self.dir(key_dir);
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.create_blocking(&dir, start, &bytes))
            .await
            .map_err(|e| Error::backend("file", format!("record writer task: {e}")))?
    }

    /// Reads record `<key_dir>/<seq>` in place (`None` if absent). Records are
    /// small and local, so the read runs on the calling thread: a few
    /// microseconds from the page cache, where handing it to a blocking-pool
    /// thread would cost more than the read.
    ///
    /// # Errors
    /// I/O failures other than "not found", naming the file.
    pub fn read(&self, key_dir: &str, seq: u64) -> Result<Option<Bytes>> {
        let path = self.dir(key_dir).join(seq_name(seq));
        match std::fs::read(&path) {
            Ok(b) => Ok(Some(b.into())),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(&path, e)),
        }
    }

    /// Flushes every record published so far (a no-op unless `Deferred`).
    ///
    /// # Errors
    /// The first flush failure, naming the file.
    pub async fn flush(&self) -> Result<()> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.flush_pending())
            .await
            .map_err(|e| Error::backend("file", format!("flush task: {e}")))?
    }
}

fn guard<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn create_blocking(&self, dir: &Path, start: u64, bytes: &[u8]) -> Result<u64> {
        if let Some(why) = guard(&self.failed).clone() {
            return Err(Error::backend("file", why));
        }
        let flush = self.durability == Durability::Flush;
        let (mut file, staging) = open_staging(dir, start, flush)?;
        let published = file
            .write_all(bytes)
            .map_err(|e| Error::io(&staging, e))
            .and_then(|()| publish(dir, &staging, start));
        // After the link the bytes live on under the key; before it there is nothing to keep.
        let _ = std::fs::remove_file(&staging);
        let seq = published?;
        let key = dir.join(seq_name(seq));
        match self.durability {
            Durability::Flush => {
                file.sync_all().map_err(|e| Error::io(&key, e))?;
                if self.sync_dir {
                    sync_dir(dir)?;
                }
            }
            Durability::Deferred { .. } => {
                let backlog = {
                    let mut p = guard(&self.pending);
                    if p.first.is_none() {
                        p.first = Some((key, file));
                    }
                    p.count += 1;
                    p.count
                };
                if backlog >= PENDING_MAX {
                    self.flush_pending()?;
                }
            }
            Durability::Off => {}
        }
        Ok(seq)
    }

    /// One flush round for every pending record: a single `syncfs` of their
    /// filesystem (one journal commit and one device flush, however many records
    /// the round holds). Deferral only runs on Linux (ext4/XFS/btrfs), where
    /// `syncfs` writes back every dirty file of the filesystem and commits it.
    fn flush_pending(&self) -> Result<()> {
        let _round = guard(&self.round);
        let round = std::mem::take(&mut *guard(&self.pending));
        if let Some((path, file)) = &round.first
            && let Err(e) = sync_filesystem(file)
        {
            let err = Error::io(path, e);
            *guard(&self.failed) = Some(format!(
                "a deferred flush failed, records from {} on may not be durable: {err}",
                path.display()
            ));
            return Err(err);
        }
        match guard(&self.failed).clone() {
            Some(why) => Err(Error::backend("file", why)),
            None => Ok(()),
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Err(e) = self.flush_pending() {
            tracing::warn!(error = %e, "final flush of deferred records failed");
        }
    }
}

/// Makes every write to `file`'s filesystem durable (`syncfs`; elsewhere the file).
fn sync_filesystem(file: &File) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        rustix::fs::syncfs(file).map_err(std::io::Error::from)
    }
    #[cfg(not(target_os = "linux"))]
    {
        file.sync_all()
    }
}

/// The background group commit: a round every `within` while a publisher lives.
fn flusher(shared: &Weak<Shared>, within: Duration) {
    loop {
        std::thread::sleep(within);
        let Some(s) = shared.upgrade() else { return };
        if let Err(e) = s.flush_pending() {
            tracing::warn!(error = %e, "deferred flush failed");
        }
    }
}

/// The key name of record `seq`.
pub(crate) fn seq_name(seq: u64) -> String {
    format!("{seq:0SEQ_WIDTH$}")
}

/// Opens a fresh staging file `<dir>/<start>#<n>`, creating `dir` on first use.
fn open_staging(dir: &Path, start: u64, fsync: bool) -> Result<(File, PathBuf)> {
    let mut n = 1u32;
    let mut created_dirs = false;
    loop {
        let path = dir.join(format!("{}#{n}", seq_name(start)));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => n += 1,
            Err(e) if e.kind() == ErrorKind::NotFound && !created_dirs => {
                create_dirs(dir, fsync)?;
                created_dirs = true;
            }
            Err(e) => return Err(Error::io(&path, e)),
        }
    }
}

/// `mkdir -p dir`; with `fsync`, syncs each new directory and the existing parent
/// that gained an entry (once per directory: later records find it).
fn create_dirs(dir: &Path, fsync: bool) -> Result<()> {
    let mut first_existing = dir;
    while !first_existing.exists() {
        match first_existing.parent() {
            Some(p) => first_existing = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    if fsync {
        let mut d = dir;
        loop {
            sync_dir(d)?;
            if d == first_existing {
                break;
            }
            match d.parent() {
                Some(p) => d = p,
                None => break,
            }
        }
    }
    Ok(())
}

/// Hard-links `staging` to the lowest free number `>= start`. On the first taken
/// number the directory is listed once to jump past every number taken since.
fn publish(dir: &Path, staging: &Path, start: u64) -> Result<u64> {
    let mut seq = start.max(1);
    let mut relisted = false;
    loop {
        let key = dir.join(seq_name(seq));
        match std::fs::hard_link(staging, &key) {
            Ok(()) => return Ok(seq),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                seq += 1;
                if !relisted {
                    relisted = true;
                    seq = seq.max(highest(dir)? + 1);
                }
            }
            Err(e) => return Err(Error::io(&key, e)),
        }
    }
}

/// The highest published number in `dir` (0 if none).
fn highest(dir: &Path) -> Result<u64> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut max = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name();
        if let Some(n) = name
            .to_str()
            .filter(|s| s.len() == SEQ_WIDTH)
            .and_then(|s| s.parse::<u64>().ok())
        {
            max = max.max(n);
        }
    }
    Ok(max)
}

fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Whether `fsync` of a linked file also makes its new name durable on the
/// filesystem holding `root`, and a `syncfs` commits every name made before it.
fn journals_links(root: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        const EXT4: u64 = 0xEF53;
        const XFS: u64 = 0x5846_5342;
        const BTRFS: u64 = 0x9123_683E;
        // The root may not exist yet: probe its nearest existing ancestor.
        let probe = root.ancestors().find(|p| p.exists()).unwrap_or(root);
        match rustix::fs::statfs(probe) {
            // f_type is a signed or unsigned word depending on the libc: compare its low 32 bits.
            #[allow(clippy::cast_sign_loss, clippy::unnecessary_cast)]
            Ok(st) => matches!((st.f_type as u64) & 0xFFFF_FFFF, EXT4 | XFS | BTRFS),
            Err(_) => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        false
    }
}

#[cfg(test)]
mod tests;
