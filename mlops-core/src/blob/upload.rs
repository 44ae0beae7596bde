//! Writing blobs: bytes, streams, readers and files.

use super::verify::read_full;
use super::{BlobRef, BlobStore};
use crate::digest::Digest;
use crate::error::{Error, Result};
use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart,
};
use tokio::io::{AsyncRead, AsyncReadExt};

impl BlobStore {
    /// Stores `bytes` and returns its digest and size. Does nothing (after one `HEAD`) if the
    /// blob is stored already.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
    /// use mlops_core::{Digest, Storage, blob::BlobStore};
    /// let blobs = BlobStore::new(&Storage::memory());
    /// let put = blobs.put_bytes(vec![1u8, 2, 3]).await?;
    /// assert_eq!(put.digest, Digest::of(&[1, 2, 3]));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Store failures.
    pub async fn put_bytes(&self, bytes: impl Into<Bytes>) -> Result<BlobRef> {
        let bytes: Bytes = bytes.into();
        let blob = BlobRef {
            digest: Digest::of(&bytes),
            size: bytes.len() as u64,
        };
        self.put_single(blob, PutPayload::from(bytes)).await?;
        Ok(blob)
    }

    /// Stores the bytes of `stream` and returns their digest and size.
    ///
    /// Content shorter than one part is buffered, then stored like [`BlobStore::put_bytes`].
    /// Longer content is uploaded in parts to `staging/<uuid>` while hashing, then copied to its
    /// blob key if absent; the staging object is deleted either way. Memory stays bounded by the
    /// part size and [`max_inflight_parts`](super::BlobOptions::max_inflight_parts).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
    /// use bytes::Bytes;
    /// use mlops_core::{Digest, Storage, blob::BlobStore};
    /// let blobs = BlobStore::new(&Storage::memory());
    /// let chunks = vec![Ok(Bytes::from("ab")), Ok(Bytes::from("cd"))];
    /// let put = blobs.put_stream(futures::stream::iter(chunks)).await?;
    /// assert_eq!(put.digest, Digest::of(b"abcd"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// The first error the stream yields (the upload is aborted); store failures.
    pub async fn put_stream<S>(&self, stream: S) -> Result<BlobRef>
    where
        S: Stream<Item = Result<Bytes>> + Send,
    {
        let mut stream = std::pin::pin!(stream);
        let part = self.opts.part_size;
        let mut hasher = blake3::Hasher::new();
        let mut head: Vec<Bytes> = Vec::new();
        let mut size = 0u64;
        // Buffer up to one part: most blobs are small and are then stored in one request.
        while size < part as u64 {
            match stream.next().await {
                None => {
                    let blob = BlobRef {
                        digest: Digest::from_hash(hasher.finalize()),
                        size,
                    };
                    self.put_single(blob, head.into_iter().collect()).await?;
                    return Ok(blob);
                }
                Some(chunk) => {
                    let chunk = chunk?;
                    hasher.update(&chunk);
                    size += chunk.len() as u64;
                    head.push(chunk);
                }
            }
        }
        let staging = self.staging_key();
        let rest = stream.inspect(|c| {
            if let Ok(c) = c {
                hasher.update(c);
                size += c.len() as u64;
            }
        });
        let chunks = futures::stream::iter(head.into_iter().map(Ok)).chain(rest);
        let writer = self.write_parts(&staging, chunks).await?;
        let blob = BlobRef {
            digest: Digest::from_hash(hasher.finalize()),
            size,
        };
        self.finish_staged(writer, &staging, &blob).await?;
        Ok(blob)
    }

    /// Stores everything `reader` yields, like [`BlobStore::put_stream`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
    /// use mlops_core::{Digest, Storage, blob::BlobStore};
    /// let blobs = BlobStore::new(&Storage::memory());
    /// let put = blobs.put_reader(&b"from a reader"[..]).await?;
    /// assert_eq!(put.digest, Digest::of(b"from a reader"));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `Io` if reading fails; store failures.
    pub async fn put_reader<R>(&self, reader: R) -> Result<BlobRef>
    where
        R: AsyncRead + Send + Unpin,
    {
        let part = self.opts.part_size;
        let chunks = futures::stream::try_unfold(reader, move |mut r| async move {
            let mut buf = BytesMut::with_capacity(part);
            while buf.len() < part {
                let n = r
                    .read_buf(&mut buf)
                    .await
                    .map_err(|e| Error::io("<reader>", e))?;
                if n == 0 {
                    break;
                }
            }
            Ok(if buf.is_empty() {
                None
            } else {
                Some((buf.freeze(), r))
            })
        });
        self.put_stream(chunks).await
    }

    /// Stores the file at `path` and returns its digest and size.
    ///
    /// A file of at most one part is read, hashed and stored like [`BlobStore::put_bytes`].
    /// A larger one moves in parts with bounded memory, in one of two ways (see
    /// [`HashFirst`](super::HashFirst)):
    /// - hashed first, then — unless the blob is stored already — uploaded straight to its
    ///   blob key while being hashed again; the upload completes only if both digests agree,
    ///   so a file changed mid-upload is never stored under the wrong digest;
    /// - or read and hashed once while uploading to `staging/<uuid>`, then copied to its blob
    ///   key if absent (the staging object is deleted either way).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
    /// use mlops_core::{Digest, Storage, blob::BlobStore};
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("model.bin");
    /// std::fs::write(&path, b"weights").unwrap();
    /// let blobs = BlobStore::new(&Storage::memory());
    /// let put = blobs.put_file(&path).await?;
    /// assert_eq!((put.digest, put.size), (Digest::of(b"weights"), 7));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// `InvalidArgument` if `path` is not a regular file; `Io` if it cannot be read;
    /// `Conflict` if it changed while being uploaded; store failures.
    pub async fn put_file(&self, path: impl AsRef<std::path::Path>) -> Result<BlobRef> {
        let path = path.as_ref().to_path_buf();
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| Error::io(&path, e))?;
        if !meta.is_file() {
            return Err(Error::invalid(
                "blob source",
                path.display().to_string(),
                "is not a regular file",
            ));
        }
        if meta.len() <= self.opts.part_size as u64 {
            // Small: what we hash is exactly what we send.
            let bytes = tokio::fs::read(&path)
                .await
                .map_err(|e| Error::io(&path, e))?;
            return self.put_bytes(bytes).await;
        }
        if !self.hash_first() {
            return self.upload_file_staged(&path).await;
        }
        let p = path.clone();
        let expected = blocking(move || super::hash_file(&p)).await?;
        if self.exists(&expected.digest).await? {
            return Ok(expected);
        }
        self.upload_file(&path, expected).await?;
        Ok(expected)
    }

    /// Uploads a large file straight to its blob key, completing only if it still hashes to
    /// `expected`.
    async fn upload_file(&self, path: &std::path::Path, expected: BlobRef) -> Result<()> {
        let key = self.key(&expected.digest);
        let (chunks, reader) = self.read_file(path);
        let written = self.write_parts(&key, chunks).await;
        let writer = match (written, join(reader).await) {
            (Ok(w), Ok(got)) if got == expected => w,
            (Ok(w), read) => {
                let _ = w.abort().await;
                return Err(match read {
                    Err(e) => e,
                    Ok(got) => Error::conflict(
                        "file",
                        path.display().to_string(),
                        format!(
                            "it changed while being uploaded (hashed {}, {} bytes; then read {}, {} bytes)",
                            expected.digest, expected.size, got.digest, got.size
                        ),
                    ),
                });
            }
            (Err(e), _) => return Err(e),
        };
        writer
            .finish()
            .await
            .map(|_| ())
            .map_err(|e| Error::store(&key, e))
    }

    /// Uploads a large file to a staging key while hashing it (one read), then publishes it.
    async fn upload_file_staged(&self, path: &std::path::Path) -> Result<BlobRef> {
        let staging = self.staging_key();
        let (chunks, reader) = self.read_file(path);
        let written = self.write_parts(&staging, chunks).await;
        let (writer, blob) = match (written, join(reader).await) {
            (Ok(w), Ok(blob)) => (w, blob),
            (Ok(w), Err(e)) => {
                let _ = w.abort().await;
                return Err(e);
            }
            (Err(e), _) => return Err(e),
        };
        self.finish_staged(writer, &staging, &blob).await?;
        Ok(blob)
    }

    /// Reads `path` in parts on a blocking thread, hashing each as it is read. Returns the
    /// parts (at most one waits while the next is read) and the reader's final digest.
    fn read_file(
        &self,
        path: &std::path::Path,
    ) -> (
        impl Stream<Item = Result<Bytes>> + Send + 'static,
        tokio::task::JoinHandle<Result<BlobRef>>,
    ) {
        let part = self.opts.part_size;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        let p = path.to_path_buf();
        let reader = tokio::task::spawn_blocking(move || -> Result<BlobRef> {
            let mut f = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
            let mut hasher = blake3::Hasher::new();
            let mut size = 0u64;
            let pool = BufPool::default();
            loop {
                let mut buf = pool.take(part);
                let n = read_full(&mut f, &mut buf).map_err(|e| Error::io(&p, e))?;
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                hasher.update(&buf);
                size += n as u64;
                if tx.blocking_send(pool.wrap(buf)).is_err() {
                    break; // the upload gave up; its error is reported there
                }
            }
            Ok(BlobRef {
                digest: Digest::from_hash(hasher.finalize()),
                size,
            })
        });
        // Dropping the stream drops `rx`, which unblocks a reader waiting to send.
        let chunks = futures::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|c| c.map(Ok)));
        (chunks, reader)
    }

    /// Completes a staged upload of `blob`, publishes it and deletes the staging object.
    async fn finish_staged(
        &self,
        writer: WriteMultipart,
        staging: &Path,
        blob: &BlobRef,
    ) -> Result<()> {
        writer
            .finish()
            .await
            .map_err(|e| Error::store(staging, e))?;
        let published = self.publish(staging, &blob.digest).await;
        if let Err(e) = self.store.delete(staging).await {
            tracing::warn!(key = %staging, error = %e, "could not delete a staging object");
        }
        published
    }

    fn staging_key(&self) -> Path {
        self.staging
            .clone()
            .join(uuid::Uuid::new_v4().simple().to_string())
    }

    /// Sends `chunks` as parts of a multipart upload to `key`, at most `max_inflight_parts` in
    /// flight. Returns the writer, ready to finish (or abort); aborts it on any error.
    async fn write_parts<S>(&self, key: &Path, chunks: S) -> Result<WriteMultipart>
    where
        S: Stream<Item = Result<Bytes>> + Send,
    {
        let mut chunks = std::pin::pin!(chunks);
        let upload = self
            .store
            .put_multipart(key)
            .await
            .map_err(|e| Error::store(key, e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.opts.part_size);
        let max = self.opts.max_inflight_parts;
        loop {
            let failure = match chunks.next().await {
                None => return Ok(writer),
                Some(Err(e)) => e,
                Some(Ok(chunk)) => match writer.wait_for_capacity(max).await {
                    Ok(()) => {
                        writer.put(chunk);
                        continue;
                    }
                    Err(e) => Error::store(key, e),
                },
            };
            let _ = writer.abort().await;
            return Err(failure);
        }
    }

    /// Writes a whole payload to the key of `blob` if it is absent.
    async fn put_single(&self, blob: BlobRef, payload: PutPayload) -> Result<()> {
        if self.exists(&blob.digest).await? {
            return Ok(());
        }
        let key = self.key(&blob.digest);
        let create = PutOptions::from(PutMode::Create);
        match self.store.put_opts(&key, payload.clone(), create).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            // A store without create-if-absent: every writer of this key writes these same
            // verified bytes, so a plain (atomic) put is equivalent.
            Err(object_store::Error::NotImplemented { .. })
            | Err(object_store::Error::NotSupported { .. }) => self
                .store
                .put(&key, payload)
                .await
                .map(|_| ())
                .map_err(|e| Error::store(&key, e)),
            Err(e) => Err(Error::store(&key, e)),
        }
    }

    /// Copies a complete, verified staging object to the key of `digest` if it is absent.
    async fn publish(&self, staging: &Path, digest: &Digest) -> Result<()> {
        let key = self.key(digest);
        let create = CopyOptions::new().with_mode(CopyMode::Create);
        match self.store.copy_opts(staging, &key, create).await {
            Ok(()) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            // No copy-if-not-exists (S3 unless configured): the same bytes under the same
            // digest, so HEAD + an atomic plain copy is equivalent.
            Err(object_store::Error::NotImplemented { .. })
            | Err(object_store::Error::NotSupported { .. }) => {
                if self.exists(digest).await? {
                    return Ok(());
                }
                self.store
                    .copy(staging, &key)
                    .await
                    .map_err(|e| Error::store(&key, e))
            }
            Err(e) => Err(Error::store(&key, e)),
        }
    }
}

/// Runs blocking file work off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::backend("blob store", format!("blocking task failed: {e}")))?
}

async fn join(reader: tokio::task::JoinHandle<Result<BlobRef>>) -> Result<BlobRef> {
    reader
        .await
        .map_err(|e| Error::backend("blob store", format!("file reader task failed: {e}")))?
}

/// Recycles part buffers: fresh multi-MiB allocations cost a page fault per 4 KiB, which is a
/// noticeable share of a local upload. Holds at most [`BufPool::KEEP`] idle buffers.
#[derive(Clone, Default)]
struct BufPool(std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>);

impl BufPool {
    const KEEP: usize = 4;

    /// A buffer of `len` bytes (contents unspecified: callers overwrite what they use).
    fn take(&self, len: usize) -> Vec<u8> {
        let reused = self.0.lock().ok().and_then(|mut v| v.pop());
        match reused {
            Some(mut b) => {
                b.resize(len, 0);
                b
            }
            None => vec![0u8; len],
        }
    }

    /// `buf` as `Bytes` that return their allocation here when dropped.
    fn wrap(&self, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }
}

struct Pooled {
    buf: Vec<u8>,
    pool: BufPool,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut idle) = self.pool.0.lock()
            && idle.len() < BufPool::KEEP
        {
            idle.push(std::mem::take(&mut self.buf));
        }
    }
}
