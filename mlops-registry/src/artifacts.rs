//! Version artifacts on the object store, content-addressed.
//!
//! The one place that knows how artifact bytes are laid out, so switching to
//! core's blob store is a local change. Layout under the registry prefix:
//! `models/<model>/artifacts/<manifest-hex>/<path>`: a real directory tree per
//! manifest (what KServe's `storageUri` downloads), addressed by the manifest's
//! blake3 digest, written create-only. Two uploads of the same manifest write the
//! same bytes to the same keys, so "already exists" is success.

use crate::error::{Error, Result};
use crate::types::{ArtifactEntry, ArtifactManifest};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use mlops_core::name::ModelName;
use mlops_core::object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
use mlops_core::path::ArtifactPath;
use mlops_core::{Digest, Storage};

/// Reads and writes artifact trees.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactStore {
    storage: Storage,
}

impl ArtifactStore {
    pub(crate) fn new(storage: Storage) -> Self {
        Self { storage }
    }

    fn dir(model: &ModelName, manifest: &Digest) -> String {
        format!("models/{model}/artifacts/{}", manifest.to_hex())
    }

    /// The manifest of `files` (no I/O).
    pub(crate) fn manifest_of(files: &[(ArtifactPath, Bytes)]) -> ArtifactManifest {
        let mut m = ArtifactManifest::default();
        for (p, b) in files {
            m.files.insert(
                p.clone(),
                ArtifactEntry {
                    digest: Digest::of(b),
                    size: b.len() as u64,
                },
            );
        }
        m
    }

    /// Writes every file (create-only, up to 8 at once) and returns the manifest.
    pub(crate) async fn put_all(
        &self,
        model: &ModelName,
        files: &[(ArtifactPath, Bytes)],
    ) -> Result<(ArtifactManifest, Digest)> {
        let manifest = Self::manifest_of(files);
        let digest = manifest.digest();
        let dir = Self::dir(model, &digest);
        // Owned keys and payloads, so the stream holds no borrowed closures
        // (keeps the future `Send` inside `async_trait`).
        let mut puts = Vec::with_capacity(files.len());
        for (p, b) in files {
            puts.push((self.storage.path(&format!("{dir}/{p}"))?, b.clone()));
        }
        let store = self.storage.store().clone();
        futures::stream::iter(puts)
            .map(move |(key, bytes)| put_create(store.clone(), key, bytes))
            .buffer_unordered(8)
            .try_collect::<Vec<()>>()
            .await?;
        Ok((manifest, digest))
    }

    /// The directory URI of a manifest's tree.
    pub(crate) fn uri(&self, model: &ModelName, manifest: &Digest) -> String {
        join_url(self.storage.url(), &Self::dir(model, manifest))
    }

    /// Reads one file and checks it against its manifest entry.
    pub(crate) async fn get(
        &self,
        model: &ModelName,
        manifest: &Digest,
        path: &ArtifactPath,
        entry: &ArtifactEntry,
    ) -> Result<Bytes> {
        let key = self
            .storage
            .path(&format!("{}/{path}", Self::dir(model, manifest)))?;
        let got = self
            .storage
            .store()
            .get(&key)
            .await
            .map_err(|e| mlops_core::Error::store(&key, e))?;
        let bytes = got
            .bytes()
            .await
            .map_err(|e| mlops_core::Error::store(&key, e))?;
        let actual = Digest::of(&bytes);
        if actual != entry.digest {
            return Err(mlops_core::Error::Integrity {
                what: format!("artifact {path} of model {model} (key {key})"),
                expected: entry.digest.to_string(),
                actual: actual.to_string(),
            }
            .into());
        }
        Ok(bytes)
    }
}

async fn put_create(
    store: std::sync::Arc<dyn mlops_core::object_store::ObjectStore>,
    key: mlops_core::object_store::path::Path,
    bytes: Bytes,
) -> Result<()> {
    let opts = PutOptions::from(PutMode::Create);
    match store.put_opts(&key, PutPayload::from(bytes), opts).await {
        Ok(_) | Err(mlops_core::object_store::Error::AlreadyExists { .. }) => Ok(()),
        Err(e) => Err(Error::from(mlops_core::Error::store(&key, e))),
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
    async fn round_trip_and_integrity() {
        let s = Storage::memory();
        let a = ArtifactStore::new(s.clone());
        let m: ModelName = "m".parse().unwrap();
        let p = ArtifactPath::new("w.bin").unwrap();
        let (man, d) = a
            .put_all(&m, &[(p.clone(), Bytes::from_static(b"abc"))])
            .await
            .unwrap();
        // writing the same manifest twice is fine
        a.put_all(&m, &[(p.clone(), Bytes::from_static(b"abc"))])
            .await
            .unwrap();
        let e = &man.files[&p];
        assert_eq!(&a.get(&m, &d, &p, e).await.unwrap()[..], b"abc");
        let key = s
            .path(&format!("models/m/artifacts/{}/w.bin", d.to_hex()))
            .unwrap();
        s.store().put(&key, "abd".into()).await.unwrap();
        let err = a.get(&m, &d, &p, e).await.unwrap_err();
        assert_eq!(err.kind(), mlops_core::ErrorKind::Integrity);
    }
}
