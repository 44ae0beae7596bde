//! Version artifacts: bytes in core's content-addressed blob store, plus a
//! serving tree.
//!
//! The one place that knows how artifact bytes are laid out. Below the registry
//! prefix:
//!
//! - `blobs/<2 hex>/<64 hex>`: every file as a [`BlobStore`] blob (deduplicated
//!   across versions, verified on read): the source of truth for downloads. The
//!   remote backends, which keep only a manifest digest, store the manifest as a
//!   blob too ([`ArtifactStore::put_all`]); the embedded backend keeps it in the
//!   version record ([`ArtifactStore::put_files`]).
//! - `models/<model>/artifacts/<manifest-hex>/<path>`: the same files as a plain
//!   directory tree — what KServe's `storageUri` downloads. Made by server-side
//!   copies of the blobs (hard links on `file://`), create-only, so no bytes pass
//!   through this process twice ([`ArtifactStore::lay_out_tree`]): at creation by
//!   the remote backends, when an alias first names the version (every promotion
//!   sets one) by the embedded backend.

use crate::error::{Error, Result};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use mlops_core::blob::{BlobRef, BlobStore, Manifest};
use mlops_core::name::ModelName;
use mlops_core::object_store::path::Path as Key;
use mlops_core::object_store::{CopyMode, CopyOptions, ObjectStore, ObjectStoreExt};
use mlops_core::path::ArtifactPath;
use mlops_core::{Digest, Storage};
use std::sync::Arc;

/// Reads and writes artifacts.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactStore {
    storage: Storage,
    blobs: BlobStore,
    /// Manifest blobs this handle stored or saw stored. Blobs are immutable and
    /// never deleted, so a known digest needs no `HEAD` before the next put.
    #[cfg_attr(not(any(feature = "sagemaker", feature = "vertex")), allow(dead_code))]
    known_manifests: Arc<std::sync::Mutex<std::collections::HashSet<Digest>>>,
}

impl ArtifactStore {
    pub(crate) fn new(storage: Storage) -> Self {
        Self {
            blobs: BlobStore::new(&storage),
            storage,
            known_manifests: Arc::default(),
        }
    }

    fn dir(model: &ModelName, manifest: &Digest) -> String {
        format!("models/{model}/artifacts/{}", manifest.to_hex())
    }

    /// Stores every file (up to 8 at once) as a blob and returns their manifest.
    /// Nothing else is written: the manifest itself is the caller's to keep.
    pub(crate) async fn put_files(&self, files: &[(ArtifactPath, Bytes)]) -> Result<Manifest> {
        let blobs = self.blobs.clone();
        let stored: Vec<(ArtifactPath, BlobRef)> =
            futures::stream::iter(files.iter().cloned().map(move |(p, b)| {
                let blobs = blobs.clone();
                async move { Ok::<_, Error>((p, blobs.put_bytes(b).await?)) }
            }))
            .buffer_unordered(8)
            .try_collect()
            .await?;
        let mut manifest = Manifest::new();
        for (p, blob) in stored {
            manifest.insert(p, blob)?;
        }
        Ok(manifest)
    }

    /// Stores every file and the manifest as blobs, lays out the serving tree, and
    /// returns the manifest (for backends that keep only the manifest digest).
    #[cfg_attr(not(any(feature = "sagemaker", feature = "vertex")), allow(dead_code))] // the remote backends
    pub(crate) async fn put_all(
        &self,
        model: &ModelName,
        files: &[(ArtifactPath, Bytes)],
    ) -> Result<Manifest> {
        let manifest = self.put_files(files).await?;
        // The manifest blob and the serving tree are independent: write them at once
        // (on file:// each write waits for its own fsync).
        let digest = manifest.digest();
        let known = || {
            self.known_manifests
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        let seen = known().contains(&digest);
        futures::try_join!(
            async {
                if !seen {
                    self.blobs.put_manifest(&manifest).await?;
                }
                Ok::<_, Error>(())
            },
            self.lay_out_tree(model, &manifest)
        )?;
        known().insert(digest);
        Ok(manifest)
    }

    /// Lays out the serving tree of `manifest` (files already stored as blobs):
    /// server-side, create-only copies, so it is safe to repeat and to race.
    pub(crate) async fn lay_out_tree(&self, model: &ModelName, manifest: &Manifest) -> Result<()> {
        let dir = Self::dir(model, &manifest.digest());
        let mut copies = Vec::with_capacity(manifest.len());
        for (p, blob) in manifest.iter() {
            copies.push((
                self.blobs.key(&blob.digest),
                self.storage.path(&format!("{dir}/{p}"))?,
            ));
        }
        let store = self.storage.store().clone();
        futures::stream::iter(copies)
            .map(move |(from, to)| copy_create(store.clone(), from, to))
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// The directory URI of a manifest's serving tree.
    pub(crate) fn uri(&self, model: &ModelName, manifest: &Digest) -> String {
        join_url(self.storage.url(), &Self::dir(model, manifest))
    }

    /// Reads one file from the blob store, verified against its digest.
    pub(crate) async fn get(
        &self,
        model: &ModelName,
        path: &ArtifactPath,
        blob: &BlobRef,
    ) -> Result<Bytes> {
        self.blobs
            .get_bytes(&blob.digest)
            .await
            .map_err(|e| match e {
                mlops_core::Error::Integrity {
                    what,
                    expected,
                    actual,
                } => mlops_core::Error::Integrity {
                    what: format!("artifact {path} of model {model} ({what})"),
                    expected,
                    actual,
                }
                .into(),
                other => other.into(),
            })
    }
}

/// Copies `from` to `to` unless `to` exists. Stores without create-only copies
/// (S3 without its `copy_if_not_exists` option) get HEAD + copy, which is safe
/// because every writer of `to` copies the same verified blob.
async fn copy_create(store: Arc<dyn ObjectStore>, from: Key, to: Key) -> Result<()> {
    use mlops_core::object_store::Error as E;
    let create = CopyOptions::new().with_mode(CopyMode::Create);
    match store.copy_opts(&from, &to, create).await {
        Ok(()) | Err(E::AlreadyExists { .. }) => Ok(()),
        Err(E::NotImplemented { .. } | E::NotSupported { .. }) => match store.head(&to).await {
            Ok(_) => Ok(()),
            Err(E::NotFound { .. }) => store
                .copy(&from, &to)
                .await
                .map_err(|e| mlops_core::Error::store(&to, e).into()),
            Err(e) => Err(mlops_core::Error::store(&to, e).into()),
        },
        Err(e) => Err(mlops_core::Error::store(&to, e).into()),
    }
}

/// `base` + `/` + `rel`, without doubling slashes (`memory://` + `x` = `memory://x`).
pub(crate) fn join_url(base: &str, rel: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_cleanly() {
        assert_eq!(join_url("memory://", "a/b"), "memory://a/b");
        assert_eq!(join_url("s3://bkt/pre", "a"), "s3://bkt/pre/a");
        assert_eq!(join_url("file:///r/", "a"), "file:///r/a");
    }

    #[tokio::test]
    async fn round_trip_tree_and_integrity() {
        let s = Storage::memory();
        let a = ArtifactStore::new(s.clone());
        let m: ModelName = "m".parse().unwrap();
        let p = ArtifactPath::new("w.bin").unwrap();
        let man = a
            .put_all(&m, &[(p.clone(), Bytes::from_static(b"abc"))])
            .await
            .unwrap();
        // writing the same manifest twice is fine
        let again = a
            .put_all(&m, &[(p.clone(), Bytes::from_static(b"abc"))])
            .await
            .unwrap();
        assert_eq!(again, man);
        let blob = *man.get("w.bin").unwrap();
        assert_eq!(&a.get(&m, &p, &blob).await.unwrap()[..], b"abc");
        // the serving tree holds the same bytes
        let tree = s
            .path(&format!(
                "models/m/artifacts/{}/w.bin",
                man.digest().to_hex()
            ))
            .unwrap();
        let got = s.store().get(&tree).await.unwrap().bytes().await.unwrap();
        assert_eq!(&got[..], b"abc");
        // the manifest is a blob too
        assert!(a.blobs.exists(&man.digest()).await.unwrap());
        s.store()
            .put(&a.blobs.key(&blob.digest), "abd".into())
            .await
            .unwrap();
        let err = a.get(&m, &p, &blob).await.unwrap_err();
        assert_eq!(err.kind(), mlops_core::ErrorKind::Integrity);
        assert!(
            err.to_string().contains("artifact w.bin of model m"),
            "{err}"
        );
    }
}
