//! The `file://` write path for metric segments: one flush per logged batch.
//!
//! object_store's `LocalFileSystem` publishes a `PutMode::Create` object in two
//! flushes: `fsync` of the staged file, hard link to the key, `fsync` of the
//! directory. Each flush is a journal commit plus a device cache flush, and they
//! are the whole cost of a durable `log_batch` (the rest is ~0.1 ms). Here the
//! order is: write the staged file, hard-link it to the key (`EEXIST` = the number
//! is taken: try the next one, so keys stay create-only and never overwritten),
//! unlink the staging name, then `fsync` the file once.
//!
//! On a journaling filesystem that one `fsync` makes the link durable too: the
//! link changed the inode (its link count) in the same transaction as the
//! directory entry, and committing the inode's latest transaction commits every
//! earlier one. That holds for ext4 (also without a journal, where `fsync` of a
//! new entry syncs its parent), XFS and btrfs, detected with `statfs` when the
//! tracker opens; on any other filesystem (and off Linux) the directory is
//! `fsync`ed as well, as POSIX asks. `fsync`, not `fdatasync`: the link is inode
//! metadata that `fdatasync` may leave in a later transaction.
//!
//! A crash between the link and the end of the `fsync` can leave a published
//! segment with missing bytes. Its `log_batch` never returned, so readers skip a
//! segment that does not end in the Arrow end-of-stream marker
//! ([`super::segments`]). Staging names are `<key>#<n>`, which object_store's
//! listing and [`SeqLog`](mlops_core::seq::SeqLog) both ignore.

use crate::error::Result;
use bytes::Bytes;
use mlops_core::seq::SEQ_WIDTH;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// How durable a published segment must be on return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Durability {
    /// `fsync` the segment (the store's `fsync` option).
    pub(crate) fsync: bool,
    /// Also `fsync` its directory (filesystems not known to journal the link).
    pub(crate) sync_dir: bool,
}

/// Segment writer straight onto the directory a `file://` storage maps to.
#[derive(Debug, Clone)]
pub(crate) struct LocalSegments {
    root: PathBuf,
    durability: Durability,
}

impl LocalSegments {
    /// A writer under `root` (the storage's directory), probing its filesystem.
    pub(crate) fn new(root: PathBuf, fsync: bool) -> Self {
        let sync_dir = fsync && !journals_links(&root);
        Self {
            root,
            durability: Durability { fsync, sync_dir },
        }
    }

    #[cfg(test)]
    pub(crate) fn with_durability(root: PathBuf, durability: Durability) -> Self {
        Self { root, durability }
    }

    /// The durability in force.
    #[cfg(test)]
    pub(crate) fn durability(&self) -> Durability {
        self.durability
    }

    /// Creates `<key_dir>/<seq>` holding `bytes` for the lowest free `seq >= start`
    /// (create-only), durable on return. `key_dir` is the object key of the directory.
    pub(crate) async fn create(&self, key_dir: &str, start: u64, bytes: Bytes) -> Result<u64> {
        let dir = key_dir
            .split('/')
            .filter(|s| !s.is_empty())
            .fold(self.root.clone(), |p, s| p.join(s));
        let durability = self.durability;
        tokio::task::spawn_blocking(move || create_blocking(&dir, start, &bytes, durability))
            .await
            .map_err(|e| {
                mlops_core::Error::backend(super::BACKEND, format!("segment writer task: {e}"))
            })?
            .map_err(Into::into)
    }
}

fn seq_name(seq: u64) -> String {
    format!("{seq:0SEQ_WIDTH$}")
}

fn create_blocking(dir: &Path, start: u64, bytes: &[u8], d: Durability) -> mlops_core::Result<u64> {
    let (mut file, staging) = open_staging(dir, start, d.fsync)?;
    let published = file
        .write_all(bytes)
        .map_err(|e| mlops_core::Error::io(&staging, e))
        .and_then(|()| publish(dir, &staging, start));
    // After the link the bytes live on under the key; before it there is nothing to keep.
    let _ = std::fs::remove_file(&staging);
    let seq = published?;
    if d.fsync {
        let key = dir.join(seq_name(seq));
        file.sync_all()
            .map_err(|e| mlops_core::Error::io(&key, e))?;
        if d.sync_dir {
            sync_dir(dir)?;
        }
    }
    Ok(seq)
}

/// Opens a fresh staging file `<dir>/<start>#<n>`, creating `dir` on first use.
fn open_staging(dir: &Path, start: u64, fsync: bool) -> mlops_core::Result<(File, PathBuf)> {
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
            Err(e) => return Err(mlops_core::Error::io(&path, e)),
        }
    }
}

/// `mkdir -p dir`; with `fsync`, syncs each new directory and the existing parent
/// that gained an entry (once per run: the segments directory is new).
fn create_dirs(dir: &Path, fsync: bool) -> mlops_core::Result<()> {
    let mut first_existing = dir;
    while !first_existing.exists() {
        match first_existing.parent() {
            Some(p) => first_existing = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| mlops_core::Error::io(dir, e))?;
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
fn publish(dir: &Path, staging: &Path, start: u64) -> mlops_core::Result<u64> {
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
            Err(e) => return Err(mlops_core::Error::io(&key, e)),
        }
    }
}

/// The highest published number in `dir` (0 if none).
fn highest(dir: &Path) -> mlops_core::Result<u64> {
    let entries = std::fs::read_dir(dir).map_err(|e| mlops_core::Error::io(dir, e))?;
    let mut max = 0;
    for entry in entries {
        let entry = entry.map_err(|e| mlops_core::Error::io(dir, e))?;
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

fn sync_dir(dir: &Path) -> mlops_core::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| mlops_core::Error::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Whether `fsync` of a linked file also makes its new name durable on the
/// filesystem holding `root`.
fn journals_links(root: &Path) -> bool {
    #[cfg(target_os = "linux")]
    {
        const EXT4: u64 = 0xEF53;
        const XFS: u64 = 0x5846_5342;
        const BTRFS: u64 = 0x9123_683E;
        match rustix::fs::statfs(root) {
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
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[tokio::test]
    async fn creates_in_order_skips_taken_numbers_and_leaves_no_staging() {
        let tmp = tempfile::tempdir().unwrap();
        for sync_dir in [false, true] {
            let w = LocalSegments::with_durability(
                tmp.path().to_path_buf(),
                Durability {
                    fsync: true,
                    sync_dir,
                },
            );
            let key_dir = format!("runs/r{sync_dir}/metrics");
            assert_eq!(w.create(&key_dir, 1, "a".into()).await.unwrap(), 1);
            assert_eq!(w.create(&key_dir, 2, "b".into()).await.unwrap(), 2);
            // a stale hint: 1 and 2 are taken, so the listing jumps to 3
            assert_eq!(w.create(&key_dir, 1, "c".into()).await.unwrap(), 3);
            let dir = tmp.path().join(&key_dir);
            assert_eq!(
                names(&dir),
                vec![seq_name(1), seq_name(2), seq_name(3)],
                "no staging file left behind"
            );
            assert_eq!(std::fs::read(dir.join(seq_name(1))).unwrap(), b"a");
            assert_eq!(std::fs::read(dir.join(seq_name(3))).unwrap(), b"c");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_writers_each_get_their_own_number() {
        let tmp = tempfile::tempdir().unwrap();
        let w = LocalSegments::new(tmp.path().to_path_buf(), false);
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let w = w.clone();
                tokio::spawn(async move {
                    w.create("m", 1, Bytes::from(format!("w{i}")))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (1..=16).collect::<Vec<_>>());
        let mut bodies: Vec<String> = (1..=16)
            .map(|s| std::fs::read_to_string(tmp.path().join("m").join(seq_name(s))).unwrap())
            .collect();
        bodies.sort();
        bodies.dedup();
        assert_eq!(bodies.len(), 16, "every payload exactly once");
    }

    #[test]
    fn a_stale_staging_file_is_stepped_over() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(format!("{}#1", seq_name(1))), b"old").unwrap();
        let (_, path) = open_staging(tmp.path(), 1, false).unwrap();
        assert!(path.to_string_lossy().ends_with("#2"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn tmpfs_and_unknown_filesystems_sync_the_directory() {
        // /dev/shm is tmpfs on Linux: not in the journaling list, so the portable path.
        let shm = Path::new("/dev/shm");
        if shm.exists() {
            assert!(!journals_links(shm));
        }
        assert!(!journals_links(Path::new("/nonexistent/dir")));
        assert!(
            LocalSegments::new(PathBuf::from("/nonexistent"), true)
                .durability()
                .sync_dir
        );
        assert!(
            !LocalSegments::new(PathBuf::from("/nonexistent"), false)
                .durability()
                .sync_dir
        );
    }
}
