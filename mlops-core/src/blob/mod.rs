//! A content-addressed blob store over any object store (`file://`, `memory://`, `s3://`, ...).
//!
//! Blobs are immutable and named by the blake3 [`Digest`] of their bytes. They live at
//! `<prefix>/blobs/<first 2 hex>/<64 hex>` below the [`Storage`] prefix; uploads whose digest
//! is only known at the end are staged under `<prefix>/staging/<uuid>` first. There is no
//! delete: content-addressed data never changes, and whoever refers to a digest keeps it alive.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
//! use mlops_core::{Storage, blob::BlobStore};
//! let blobs = BlobStore::new(&Storage::from_url("memory://")?);
//! let put = blobs.put_bytes("weights").await?;
//! assert_eq!(put.size, 7);
//! assert_eq!(&blobs.get_bytes(&put.digest).await?[..], b"weights");
//! // The same content again is not written again.
//! assert_eq!(blobs.put_bytes("weights").await?, put);
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! - **Complete, verified content only.** A blob key is written only with bytes whose digest
//!   was computed from exactly the bytes sent: small payloads with one `PutMode::Create`
//!   request; large ones either staged and then copied with copy-if-not-exists, or uploaded
//!   in parts straight to the key and completed only after the digest checks out (aborted
//!   otherwise). So a blob key never holds a partial upload, and data is durable before any
//!   manifest or record can name its digest.
//! - **Dedupe.** When the digest is known before uploading (bytes, small files, large files
//!   on remote stores — see [`HashFirst`]), a `HEAD` on the blob key comes first and an
//!   existing blob is not uploaded again. Otherwise (streams, large files on local stores) the
//!   digest is known only at the end: content under one part is buffered and deduped like
//!   bytes; larger content is staged, then copied into place with copy-if-not-exists, and the
//!   staging object is deleted, so the store still holds one copy.
//! - **Concurrent writers** of the same content all succeed and the store ends with one object:
//!   create-if-absent and copy-if-not-exists treat "already exists" as success, and a multipart
//!   upload to a blob key can only ever complete with the same verified bytes.
//! - **Verify-on-read.** [`BlobStore::get`] hashes as it streams and ends with
//!   [`Error::Integrity`] (expected vs actual digest) on any mismatch;
//!   [`BlobStore::get_bytes`], [`BlobStore::get_file`] and [`BlobStore::get_dir`] never hand
//!   out (or leave at the destination) bytes that did not verify.
//!
//! # Memory
//!
//! Large files and streams move in parts of [`BlobOptions::part_size`] (default 8 MiB), with at
//! most [`BlobOptions::max_inflight_parts`] parts in flight. One upload buffers at most about
//! `(max_inflight_parts + 3) × part_size`, whatever the size of the file; a directory upload
//! runs [`BlobOptions::file_concurrency`] such uploads at once.
//!
//! # Directories and symlinks
//!
//! [`BlobStore::put_dir`] records every regular file below a directory in a [`Manifest`]
//! (relative [`ArtifactPath`](crate::path::ArtifactPath) → digest + size), stores each file as a
//! blob and the manifest itself as a blob of canonical JSON. Symbolic links below the root are
//! never followed: by default they are refused with `InvalidArgument`, or skipped with
//! [`Symlinks::Skip`]. Other special files (sockets, FIFOs, devices) are refused. Empty
//! sub-directories are not recorded (a manifest lists files).
//!
//! A process that dies between completing a staged upload and deleting it leaves an object
//! under `<prefix>/staging/`; nothing refers to staging objects, so any there older than the
//! longest upload are garbage and may be deleted (on S3, also add a lifecycle rule that
//! aborts incomplete multipart uploads).
//!
//! # Backends
//!
//! On `s3://`, copy-if-not-exists needs the store's `copy_if_not_exists` option; without it,
//! publishing a staged stream falls back to `HEAD` + plain copy, which is safe because every
//! writer of a blob key writes the same verified bytes. S3's single-request copy is limited to
//! 5 GiB, so streams larger than that need the option (or a file upload, which needs no copy).

mod dir;
mod manifest;
mod upload;
mod verify;

pub use dir::Symlinks;
pub use manifest::Manifest;
pub use verify::{BlobReader, hash_file};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::store::{Scheme, Storage};
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{GetResultPayload, ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The default multipart part size: 8 MiB.
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;
/// The smallest part size accepted: 5 MiB, S3's minimum for all but the last part.
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// The largest part size accepted: 512 MiB (keeps the memory bound meaningful).
pub const MAX_PART_SIZE: usize = 512 * 1024 * 1024;

const BLOBS: &str = "blobs";
const STAGING: &str = "staging";

/// A stored blob: its digest and its size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BlobRef {
    /// The blake3 digest of the content.
    pub digest: Digest,
    /// The content length in bytes.
    pub size: u64,
}

/// Tuning for a [`BlobStore`]: part size, parallelism and the symlink rule.
///
/// ```
/// use mlops_core::blob::{BlobOptions, Symlinks};
/// let o = BlobOptions::default()
///     .with_part_size(16 * 1024 * 1024)
///     .with_max_inflight_parts(2)
///     .with_symlinks(Symlinks::Skip);
/// assert_eq!(o.part_size(), 16 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobOptions {
    part_size: usize,
    max_inflight_parts: usize,
    file_concurrency: usize,
    symlinks: Symlinks,
    hash_first: HashFirst,
}

impl Default for BlobOptions {
    fn default() -> Self {
        Self {
            part_size: DEFAULT_PART_SIZE,
            max_inflight_parts: 4,
            file_concurrency: 4,
            symlinks: Symlinks::Refuse,
            hash_first: HashFirst::Auto,
        }
    }
}

impl BlobOptions {
    /// The multipart part size; also the largest payload sent in one request, and the size
    /// under which content is uploaded in a single create-if-absent request.
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes;
        self
    }

    /// How many parts of one upload may be in flight at once (at least 1).
    pub fn with_max_inflight_parts(mut self, n: usize) -> Self {
        self.max_inflight_parts = n;
        self
    }

    /// How many files a directory upload or download moves at once (at least 1).
    pub fn with_file_concurrency(mut self, n: usize) -> Self {
        self.file_concurrency = n;
        self
    }

    /// What a directory upload does with symbolic links (default: refuse).
    pub fn with_symlinks(mut self, rule: Symlinks) -> Self {
        self.symlinks = rule;
        self
    }

    /// Whether a large file is hashed before it is uploaded (default: [`HashFirst::Auto`]).
    pub fn with_hash_first(mut self, rule: HashFirst) -> Self {
        self.hash_first = rule;
        self
    }

    /// The multipart part size in bytes.
    pub fn part_size(&self) -> usize {
        self.part_size
    }

    /// The largest number of parts of one upload in flight.
    pub fn max_inflight_parts(&self) -> usize {
        self.max_inflight_parts
    }

    /// The number of files moved at once by directory operations.
    pub fn file_concurrency(&self) -> usize {
        self.file_concurrency
    }

    /// The symlink rule for directory uploads.
    pub fn symlinks(&self) -> Symlinks {
        self.symlinks
    }

    /// The rule for hashing large files before uploading them.
    pub fn hash_first(&self) -> HashFirst {
        self.hash_first
    }

    fn validate(&self) -> Result<()> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(Error::invalid(
                "blob part size",
                self.part_size.to_string(),
                format!("must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes"),
            ));
        }
        if self.max_inflight_parts == 0 {
            return Err(Error::invalid(
                "max inflight parts",
                "0",
                "must be at least 1",
            ));
        }
        if self.file_concurrency == 0 {
            return Err(Error::invalid(
                "file concurrency",
                "0",
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// Whether [`BlobStore::put_file`] hashes a large file before uploading it.
///
/// Hashing first costs one extra read of the file but lets a stored blob skip the upload
/// entirely. Uploading in one pass reads the file once, into a staging object, and finds out
/// only at the end whether the blob was already stored (then the staging copy is dropped).
/// Either way the store ends with one copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashFirst {
    /// Hash first on remote stores (`s3://`, `gs://`, `az://`), where a skipped upload saves a
    /// network transfer; one pass on local ones (`file://`, `memory://`), where writing costs
    /// about what the extra read would.
    #[default]
    Auto,
    /// Always hash first.
    Always,
    /// Always upload in one pass.
    Never,
}

/// A content-addressed, immutable blob store over any [`Storage`].
///
/// See the [module docs](self) for the layout and the guarantees.
///
/// # Clone
/// Cheap: clones share the object store.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use futures::TryStreamExt;
/// use mlops_core::{Storage, blob::BlobStore};
/// let storage = Storage::from_url("memory://bucket/artifacts")?;
/// let blobs = BlobStore::new(&storage);
/// let put = blobs.put_bytes("hello").await?;
/// assert!(blobs.key(&put.digest).as_ref().starts_with("artifacts/blobs/"));
/// assert!(blobs.exists(&put.digest).await?);
/// assert_eq!(blobs.size(&put.digest).await?, 5);
/// // A verified stream of the content:
/// let chunks: Vec<_> = blobs.get(&put.digest).await?.try_collect().await?;
/// assert_eq!(chunks.concat(), b"hello");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    blobs: Path,
    staging: Path,
    url: String,
    scheme: Scheme,
    opts: BlobOptions,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore")
            .field("url", &self.url)
            .field("blobs", &self.blobs.as_ref())
            .field("options", &self.opts)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.url)
    }
}

impl BlobStore {
    /// A blob store under `storage`'s prefix with default [`BlobOptions`].
    pub fn new(storage: &Storage) -> Self {
        let prefix = storage.prefix().clone();
        Self {
            store: storage.store().clone(),
            blobs: prefix.clone().join(BLOBS),
            staging: prefix.join(STAGING),
            url: storage.url().to_string(),
            scheme: storage.scheme(),
            opts: BlobOptions::default(),
        }
    }

    /// A blob store under `storage`'s prefix with `options`.
    ///
    /// # Errors
    /// `InvalidArgument` for a part size outside
    /// [`MIN_PART_SIZE`]`..=`[`MAX_PART_SIZE`] or a zero concurrency.
    pub fn with_options(storage: &Storage, options: BlobOptions) -> Result<Self> {
        options.validate()?;
        Ok(Self {
            opts: options,
            ..Self::new(storage)
        })
    }

    /// The options in force.
    pub fn options(&self) -> &BlobOptions {
        &self.opts
    }

    /// The underlying object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object key of the blob `digest`: `<prefix>/blobs/<first 2 hex>/<64 hex>`.
    pub fn key(&self, digest: &Digest) -> Path {
        let hex = digest.to_hex();
        self.blobs.clone().join(&hex[..2]).join(hex)
    }

    /// Whether the blob `digest` is stored (one `HEAD`; the content is not verified).
    ///
    /// # Errors
    /// Store failures other than "not found".
    pub async fn exists(&self, digest: &Digest) -> Result<bool> {
        let key = self.key(digest);
        match self.store.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(Error::store(&key, e)),
        }
    }

    /// The stored size of the blob `digest` in bytes (one `HEAD`).
    ///
    /// # Errors
    /// `NotFound` (entity `"blob"`) if it is not stored; other store failures.
    pub async fn size(&self, digest: &Digest) -> Result<u64> {
        let key = self.key(digest);
        match self.store.head(&key).await {
            Ok(meta) => Ok(meta.size),
            Err(e) => Err(self.read_error(digest, &key, e)),
        }
    }

    /// A stream of the blob's bytes that hashes as it goes and, if the content does not match
    /// `digest`, ends with an `Integrity` error instead of ending cleanly.
    ///
    /// Chunks are handed out as they arrive; treat them as unverified until the stream has
    /// ended without error (or use [`BlobStore::get_bytes`] / [`BlobStore::get_file`]).
    ///
    /// # Errors
    /// `NotFound` (entity `"blob"`) if it is not stored; other store failures. The stream
    /// yields `Integrity { what, expected, actual }` on a mismatch.
    pub async fn get(&self, digest: &Digest) -> Result<BlobReader> {
        let key = self.key(digest);
        let got = self
            .store
            .get(&key)
            .await
            .map_err(|e| self.read_error(digest, &key, e))?;
        let size = got.meta.size;
        let stream = match got.payload {
            // object_store reads local files in 8 KiB pieces; larger reads cost far fewer
            // blocking-pool round trips.
            GetResultPayload::File(file, path) => verify::file_stream(file, path, got.range),
            GetResultPayload::Stream(s) => s,
        };
        Ok(BlobReader::new(*digest, key, size, stream))
    }

    /// The whole blob in memory, verified against `digest`.
    ///
    /// # Errors
    /// `NotFound` if it is not stored; `Integrity` if the bytes do not match; store failures.
    pub async fn get_bytes(&self, digest: &Digest) -> Result<bytes::Bytes> {
        let key = self.key(digest);
        let got = self
            .store
            .get(&key)
            .await
            .map_err(|e| self.read_error(digest, &key, e))?;
        let bytes = got.bytes().await.map_err(|e| Error::store(&key, e))?;
        let actual = Digest::of(&bytes);
        if actual != *digest {
            return Err(verify::integrity(&key, digest, &actual));
        }
        Ok(bytes)
    }

    /// Reads the whole blob, checking it against its digest, without keeping it in memory.
    ///
    /// # Errors
    /// As [`BlobStore::get`]; `Integrity` on a mismatch.
    pub async fn verify(&self, digest: &Digest) -> Result<BlobRef> {
        let mut reader = self.get(digest).await?;
        let mut size = 0u64;
        while let Some(chunk) = reader.next().await {
            size += chunk?.len() as u64;
        }
        Ok(BlobRef {
            digest: *digest,
            size,
        })
    }

    /// Every stored blob (digest and stored size), in no particular order.
    ///
    /// Keys under the blob prefix that are not blob keys are skipped.
    ///
    /// # Errors
    /// Store failures, as stream items.
    pub fn list(&self) -> BoxStream<'static, Result<BlobRef>> {
        let prefix = self.blobs.clone();
        self.store
            .list(Some(&self.blobs))
            .filter_map(move |item| {
                let out = match item {
                    Err(e) => Some(Err(Error::store(&prefix, e))),
                    Ok(meta) => meta
                        .location
                        .filename()
                        .filter(|f| f.len() == 64)
                        .and_then(|f| Digest::parse(f).ok())
                        .map(|digest| {
                            Ok(BlobRef {
                                digest,
                                size: meta.size,
                            })
                        }),
                };
                futures::future::ready(out)
            })
            .boxed()
    }

    /// Whether large files are hashed before uploading, per [`HashFirst`].
    fn hash_first(&self) -> bool {
        match self.opts.hash_first {
            HashFirst::Always => true,
            HashFirst::Never => false,
            HashFirst::Auto => !matches!(self.scheme, Scheme::File | Scheme::Memory),
        }
    }

    fn read_error(&self, digest: &Digest, key: &Path, e: object_store::Error) -> Error {
        match e {
            object_store::Error::NotFound { .. } => Error::not_found("blob", digest.to_string()),
            e => Error::store(key, e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use futures::TryStreamExt;

    #[test]
    fn options_are_validated() {
        let s = Storage::memory();
        for bad in [
            BlobOptions::default().with_part_size(1024),
            BlobOptions::default().with_part_size(MAX_PART_SIZE + 1),
            BlobOptions::default().with_max_inflight_parts(0),
            BlobOptions::default().with_file_concurrency(0),
        ] {
            let e = BlobStore::with_options(&s, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        }
        let ok = BlobStore::with_options(&s, BlobOptions::default().with_part_size(MIN_PART_SIZE));
        assert_eq!(ok.unwrap().options().part_size(), MIN_PART_SIZE);
    }

    #[test]
    fn key_layout() {
        let s = Storage::from_url("memory://b/pre").unwrap();
        let b = BlobStore::new(&s);
        let d = Digest::of(b"x");
        let hex = d.to_hex();
        assert_eq!(
            b.key(&d).as_ref(),
            format!("pre/blobs/{}/{}", &hex[..2], hex)
        );
        assert_eq!(b.to_string(), "BlobStore(memory://b/pre)");
    }

    #[tokio::test]
    async fn missing_blob_is_not_found() {
        let b = BlobStore::new(&Storage::memory());
        let d = Digest::of(b"absent");
        assert!(!b.exists(&d).await.unwrap());
        assert_eq!(b.size(&d).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(b.get(&d).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(
            b.get_bytes(&d).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }

    #[tokio::test]
    async fn list_skips_foreign_keys() {
        let s = Storage::memory();
        let b = BlobStore::new(&s);
        let put = b.put_bytes("a").await.unwrap();
        let stray = s.path("blobs/xx/not-a-digest").unwrap();
        s.store().put(&stray, "junk".into()).await.unwrap();
        let all: Vec<BlobRef> = b.list().try_collect().await.unwrap();
        assert_eq!(all, vec![put]);
    }
}
