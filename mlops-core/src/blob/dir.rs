//! Files and directories on local disk: directory uploads, manifests, verified downloads.

use super::upload::blocking;
use super::{BlobRef, BlobStore, Manifest};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::path::ArtifactPath;
use futures::{StreamExt, TryStreamExt};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// What a directory upload does with a symbolic link below its root.
///
/// Links are never followed, so nothing outside the tree can be read through one. The root
/// directory itself may be a link.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Symlinks {
    /// Fail with `InvalidArgument` naming the link (the default: nothing is silently left out).
    #[default]
    Refuse,
    /// Leave links out of the manifest.
    Skip,
}

impl BlobStore {
    /// Stores every regular file below `dir` and a [`Manifest`] of them, and returns the
    /// manifest's blob (its digest identifies the tree) and the manifest.
    ///
    /// Paths in the manifest are relative to `dir`, `/`-separated. Symbolic links follow
    /// [`BlobOptions::symlinks`](super::BlobOptions::symlinks); sockets, FIFOs and devices are
    /// refused; empty sub-directories are not recorded. Every file blob is stored before the
    /// manifest that names it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
    /// use mlops_core::{Storage, blob::BlobStore};
    /// let src = tempfile::tempdir().unwrap();
    /// std::fs::create_dir(src.path().join("model")).unwrap();
    /// std::fs::write(src.path().join("model/weights.bin"), b"w").unwrap();
    /// std::fs::write(src.path().join("README"), b"r").unwrap();
    /// let blobs = BlobStore::new(&Storage::memory());
    /// let (root, manifest) = blobs.put_dir(src.path()).await?;
    /// assert_eq!(manifest.len(), 2);
    /// assert_eq!(root.digest, manifest.digest());
    ///
    /// let dst = tempfile::tempdir().unwrap();
    /// blobs.get_dir(&root.digest, dst.path()).await?;
    /// assert_eq!(std::fs::read(dst.path().join("model/weights.bin")).unwrap(), b"w");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` for a refused entry or a file name that is not UTF-8 or not a valid
    /// path segment; `Io` for unreadable files; store failures.
    pub async fn put_dir(&self, dir: impl AsRef<Path>) -> Result<(BlobRef, Manifest)> {
        let root = dir.as_ref().to_path_buf();
        let rule = self.opts.symlinks;
        let files = blocking(move || walk(&root, rule)).await?;
        let uploads = futures::stream::iter(files)
            .map(|(rel, local)| async move { Ok::<_, Error>((rel, self.put_file(&local).await?)) })
            .buffer_unordered(self.opts.file_concurrency);
        let mut manifest = Manifest::new();
        let mut uploads = std::pin::pin!(uploads);
        while let Some((rel, blob)) = uploads.try_next().await? {
            manifest.insert(rel, blob)?;
        }
        let root = self.put_manifest(&manifest).await?;
        Ok((root, manifest))
    }

    /// Stores `manifest` as a blob of its canonical JSON.
    ///
    /// # Errors
    /// Store failures.
    pub async fn put_manifest(&self, manifest: &Manifest) -> Result<BlobRef> {
        self.put_bytes(manifest.to_json()).await
    }

    /// Reads, verifies and validates the manifest blob `digest`.
    ///
    /// # Errors
    /// `NotFound`; `Integrity`; `InvalidArgument` if the blob is not a valid manifest (for
    /// example a path with `..`).
    pub async fn get_manifest(&self, digest: &Digest) -> Result<Manifest> {
        Manifest::from_json(&self.get_bytes(digest).await?)
    }

    /// Downloads the tree of manifest blob `digest` into `dest` (see [`BlobStore::checkout`])
    /// and returns the manifest.
    ///
    /// # Errors
    /// As [`BlobStore::get_manifest`] and [`BlobStore::checkout`].
    pub async fn get_dir(&self, digest: &Digest, dest: impl AsRef<Path>) -> Result<Manifest> {
        let manifest = self.get_manifest(digest).await?;
        self.checkout(&manifest, dest).await?;
        Ok(manifest)
    }

    /// Writes every file of `manifest` below `dest` (created if missing), each verified
    /// through [`BlobStore::get_file`]. Existing files at those paths are replaced.
    ///
    /// Every path is validated again before anything is written, and an existing symbolic
    /// link on the way to a file is refused, so no write can land outside `dest`.
    ///
    /// # Errors
    /// `InvalidArgument` for an unsafe path or a link in the way; `NotFound` / `Integrity` for
    /// a missing or corrupt blob (files already written stay, the corrupt one is never
    /// written); `Io` on local failures.
    pub async fn checkout(&self, manifest: &Manifest, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref().to_path_buf();
        let mut targets = Vec::with_capacity(manifest.len());
        for (rel, blob) in manifest.iter() {
            // `Manifest` paths are validated on the way in; check again right before writing.
            let again = ArtifactPath::new(rel.as_str())?;
            if again.as_str() != rel.as_str() {
                return Err(Error::invalid(
                    "manifest path",
                    rel.as_str(),
                    "is not normalised",
                ));
            }
            let local = again.segments().fold(dest.clone(), |p, s| p.join(s));
            targets.push((again, local, blob.digest));
        }
        tokio::fs::create_dir_all(&dest)
            .await
            .map_err(|e| Error::io(&dest, e))?;
        futures::stream::iter(targets)
            .map(|(rel, local, digest)| {
                let dest = dest.clone();
                async move {
                    let d = dest.clone();
                    let r = rel.clone();
                    blocking(move || prepare_parents(&d, &r)).await?;
                    self.get_file(&digest, &local).await.map(|_| ())
                }
            })
            .buffer_unordered(self.opts.file_concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// Downloads blob `digest` to the local file `dest`: written to a temporary file beside
    /// it, verified, flushed to disk, then renamed into place. On any failure the temporary
    /// file is removed and `dest` is left as it was: an unverified file never appears there.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
    /// use mlops_core::{Storage, blob::BlobStore};
    /// let blobs = BlobStore::new(&Storage::memory());
    /// let put = blobs.put_bytes("data").await?;
    /// let dir = tempfile::tempdir().unwrap();
    /// blobs.get_file(&put.digest, dir.path().join("out.bin")).await?;
    /// assert_eq!(std::fs::read(dir.path().join("out.bin")).unwrap(), b"data");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `NotFound`; `Integrity` on a mismatch; `InvalidArgument` if `dest` has no file name;
    /// `Io` on local failures.
    pub async fn get_file(&self, digest: &Digest, dest: impl AsRef<Path>) -> Result<BlobRef> {
        let dest = dest.as_ref();
        dest.file_name().ok_or_else(|| {
            Error::invalid(
                "destination file",
                dest.display().to_string(),
                "has no file name",
            )
        })?;
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        tokio::fs::create_dir_all(&parent)
            .await
            .map_err(|e| Error::io(&parent, e))?;
        // Not derived from `name`: a long name plus a suffix could exceed the name limit.
        let tmp = parent.join(format!(".mlops-{}.partial", uuid::Uuid::new_v4().simple()));
        let res = self.download_to(digest, &tmp, dest).await;
        if res.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        res
    }

    async fn download_to(&self, digest: &Digest, tmp: &Path, dest: &Path) -> Result<BlobRef> {
        let mut reader = self.get(digest).await?;
        let mut f = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
            .await
            .map_err(|e| Error::io(tmp, e))?;
        let mut size = 0u64;
        while let Some(chunk) = reader.next().await {
            let chunk = chunk?;
            size += chunk.len() as u64;
            f.write_all(&chunk).await.map_err(|e| Error::io(tmp, e))?;
        }
        // The reader ended without error: the content verified.
        f.flush().await.map_err(|e| Error::io(tmp, e))?;
        f.sync_all().await.map_err(|e| Error::io(tmp, e))?;
        drop(f);
        tokio::fs::rename(tmp, dest)
            .await
            .map_err(|e| Error::io(dest, e))?;
        Ok(BlobRef {
            digest: *digest,
            size,
        })
    }
}

/// Lists the regular files below `root` (sorted), applying the symlink rule.
fn walk(root: &Path, rule: Symlinks) -> Result<Vec<(ArtifactPath, PathBuf)>> {
    let meta = std::fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::invalid(
            "directory",
            root.display().to_string(),
            "is not a directory",
        ));
    }
    let mut out = Vec::new();
    let mut stack: Vec<(Option<ArtifactPath>, PathBuf)> = vec![(None, root.to_path_buf())];
    while let Some((rel_dir, local_dir)) = stack.pop() {
        let entries = std::fs::read_dir(&local_dir).map_err(|e| Error::io(&local_dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&local_dir, e))?;
            let local = entry.path();
            let name = entry.file_name();
            let name = name.to_str().ok_or_else(|| {
                Error::invalid(
                    "file name",
                    local.display().to_string(),
                    "is not valid UTF-8",
                )
            })?;
            let rel = match &rel_dir {
                None => ArtifactPath::new(name)?,
                Some(d) => d.join(name)?,
            };
            if rel.file_name() != name {
                return Err(Error::invalid(
                    "file name",
                    rel.as_str(),
                    "is not a plain path segment",
                ));
            }
            // `DirEntry::file_type` does not follow symbolic links.
            let kind = entry.file_type().map_err(|e| Error::io(&local, e))?;
            if kind.is_symlink() {
                match rule {
                    Symlinks::Skip => continue,
                    Symlinks::Refuse => {
                        return Err(Error::invalid(
                            "directory entry",
                            rel.as_str(),
                            "is a symbolic link; links are refused (Symlinks::Skip leaves them out)",
                        ));
                    }
                }
            } else if kind.is_dir() {
                stack.push((Some(rel), local));
            } else if kind.is_file() {
                out.push((rel, local));
            } else {
                return Err(Error::invalid(
                    "directory entry",
                    rel.as_str(),
                    "is not a regular file, directory or symbolic link",
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Creates the parent directories of `rel` below `dest`, refusing any existing symbolic link
/// or non-directory on the way.
fn prepare_parents(dest: &Path, rel: &ArtifactPath) -> Result<()> {
    let segs: Vec<&str> = rel.segments().collect();
    let mut cur = dest.to_path_buf();
    for (i, seg) in segs.iter().enumerate() {
        cur.push(seg);
        let last = i + 1 == segs.len();
        match std::fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(Error::invalid(
                    "destination path",
                    cur.display().to_string(),
                    "is a symbolic link; refusing to write through it",
                ));
            }
            Ok(m) if !last && !m.is_dir() => {
                return Err(Error::invalid(
                    "destination path",
                    cur.display().to_string(),
                    "exists and is not a directory",
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if !last {
                    match std::fs::create_dir(&cur) {
                        Ok(()) => {}
                        // A sibling download created it meanwhile.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(Error::io(&cur, e)),
                    }
                }
            }
            Err(e) => return Err(Error::io(&cur, e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn walk_lists_sorted_relative_paths() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("b/c")).unwrap();
        std::fs::create_dir_all(d.path().join("empty")).unwrap();
        std::fs::write(d.path().join("b/c/x"), b"x").unwrap();
        std::fs::write(d.path().join("a"), b"a").unwrap();
        let got: Vec<String> = walk(d.path(), Symlinks::Refuse)
            .unwrap()
            .into_iter()
            .map(|(r, _)| r.to_string())
            .collect();
        assert_eq!(got, vec!["a", "b/c/x"]);
    }

    #[cfg(unix)]
    #[test]
    fn walk_refuses_or_skips_symlinks() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        std::fs::write(d.path().join("f"), b"f").unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("link")).unwrap();
        let e = walk(d.path(), Symlinks::Refuse).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("link"), "{e}");
        let got = walk(d.path(), Symlinks::Skip).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.as_str(), "f");
    }

    #[test]
    fn walk_refuses_a_file_as_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("f"), b"f").unwrap();
        let e = walk(&d.path().join("f"), Symlinks::Refuse).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[cfg(unix)]
    #[test]
    fn parents_refuse_links_and_files_in_the_way() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), d.path().join("l")).unwrap();
        let e = prepare_parents(d.path(), &ArtifactPath::new("l/x").unwrap()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        std::fs::write(d.path().join("f"), b"").unwrap();
        assert!(prepare_parents(d.path(), &ArtifactPath::new("f/x").unwrap()).is_err());
        prepare_parents(d.path(), &ArtifactPath::new("a/b/c").unwrap()).unwrap();
        assert!(d.path().join("a/b").is_dir());
        assert!(!d.path().join("a/b/c").exists());
    }
}
