//! Hashing: the verifying read stream and single-threaded file hashing.

use super::BlobRef;
use crate::digest::Digest;
use crate::error::{Error, Result};
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;
use object_store::path::Path;
use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The read buffer for hashing a file: large enough for blake3's SIMD paths and for few
/// system calls, small enough to stay in cache.
const HASH_BUF: usize = 256 * 1024;

/// The `Integrity` error for blob `key`: expected `expected`, read `actual`.
pub(super) fn integrity(key: &Path, expected: &Digest, actual: &Digest) -> Error {
    Error::Integrity {
        what: format!("blob {key}"),
        expected: expected.to_string(),
        actual: actual.to_string(),
    }
}

/// A blob's bytes as a stream, hashed as they pass; returned by
/// [`BlobStore::get`](super::BlobStore::get).
///
/// Yields the chunks as they arrive. When the source ends, the digest of everything yielded
/// is compared with the expected one: on a match the stream ends, otherwise it yields one
/// `Integrity` error naming the expected and the actual digest, then ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_core::Result<()> {
/// use futures::TryStreamExt;
/// use mlops_core::{Storage, blob::BlobStore};
/// let blobs = BlobStore::new(&Storage::memory());
/// let put = blobs.put_bytes("abc").await?;
/// let reader = blobs.get(&put.digest).await?;
/// assert_eq!(reader.size(), 3);
/// let all: Vec<bytes::Bytes> = reader.try_collect().await?;
/// assert_eq!(all.concat(), b"abc");
/// # Ok(()) }
/// ```
pub struct BlobReader {
    expected: Digest,
    key: Path,
    size: u64,
    read: u64,
    hasher: blake3::Hasher,
    inner: Option<BoxStream<'static, object_store::Result<Bytes>>>,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader")
            .field("expected", &self.expected)
            .field("key", &self.key.as_ref())
            .field("size", &self.size)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl BlobReader {
    pub(super) fn new(
        expected: Digest,
        key: Path,
        size: u64,
        inner: BoxStream<'static, object_store::Result<Bytes>>,
    ) -> Self {
        Self {
            expected,
            key,
            size,
            read: 0,
            hasher: blake3::Hasher::new(),
            inner: Some(inner),
        }
    }

    /// The digest the content must have.
    pub fn digest(&self) -> &Digest {
        &self.expected
    }

    /// The size the store reported when the read started.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many bytes have been yielded so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }
}

impl Stream for BlobReader {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                this.hasher.update(&chunk);
                this.read += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.inner = None;
                Poll::Ready(Some(Err(Error::store(&this.key, e))))
            }
            Poll::Ready(None) => {
                this.inner = None;
                let actual = Digest::from_hash(this.hasher.finalize());
                if actual == this.expected {
                    Poll::Ready(None)
                } else {
                    Poll::Ready(Some(Err(integrity(&this.key, &this.expected, &actual))))
                }
            }
        }
    }
}

/// Hashes the file at `path` single-threaded (the same hashing path uploads use), returning
/// its digest and size. Blocking: call it from a blocking context (e.g.
/// `tokio::task::spawn_blocking`).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("f");
/// std::fs::write(&p, b"hello").unwrap();
/// let got = mlops_core::blob::hash_file(&p).unwrap();
/// assert_eq!(got.digest, mlops_core::Digest::of(b"hello"));
/// assert_eq!(got.size, 5);
/// ```
///
/// # Errors
/// `Io` if the file cannot be read.
pub fn hash_file(path: impl AsRef<std::path::Path>) -> Result<BlobRef> {
    let path = path.as_ref();
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; HASH_BUF];
    let mut size = 0u64;
    loop {
        let n = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(BlobRef {
        digest: Digest::from_hash(hasher.finalize()),
        size,
    })
}

/// The chunk size for reading local blob files.
const READ_CHUNK: usize = 1024 * 1024;

/// A stream of `range` of a local file in [`READ_CHUNK`] pieces, each read on the blocking pool.
pub(super) fn file_stream(
    file: std::fs::File,
    path: std::path::PathBuf,
    range: std::ops::Range<u64>,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    use futures::StreamExt;
    use std::io::{Seek, SeekFrom};
    let state = (
        file,
        path,
        range.start,
        range.end.saturating_sub(range.start),
        true,
    );
    futures::stream::try_unfold(state, |(mut f, path, start, left, first)| async move {
        if left == 0 {
            return Ok(None);
        }
        let (f, path, chunk) = tokio::task::spawn_blocking(move || {
            let generic =
                |e: std::io::Error, path: &std::path::Path| object_store::Error::Generic {
                    store: "LocalFileSystem",
                    source: format!("reading {}: {e}", path.display()).into(),
                };
            if first {
                f.seek(SeekFrom::Start(start))
                    .map_err(|e| generic(e, &path))?;
            }
            // Bounded by READ_CHUNK, so the cast cannot truncate.
            let want = left.min(READ_CHUNK as u64) as usize;
            let mut buf = vec![0u8; want];
            let n = read_full(&mut f, &mut buf).map_err(|e| generic(e, &path))?;
            buf.truncate(n);
            Ok::<_, object_store::Error>((f, path, buf))
        })
        .await
        .map_err(|e| object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(e),
        })??;
        if chunk.is_empty() {
            // The file is shorter than its metadata said; the digest check reports it.
            return Ok(None);
        }
        let left = left - chunk.len() as u64;
        Ok(Some((Bytes::from(chunk), (f, path, start, left, false))))
    })
    .boxed()
}

/// Reads up to `buf.len()` bytes, stopping early only at end of file. Returns the count.
pub(super) fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match f.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use futures::{StreamExt, TryStreamExt};

    fn reader_over(expected: Digest, chunks: Vec<&'static [u8]>) -> BlobReader {
        let s = futures::stream::iter(chunks.into_iter().map(|c| Ok(Bytes::from_static(c))));
        BlobReader::new(expected, Path::from("k"), 0, s.boxed())
    }

    #[tokio::test]
    async fn reader_passes_matching_content() {
        let r = reader_over(Digest::of(b"abcdef"), vec![b"abc", b"def"]);
        let all: Vec<Bytes> = r.try_collect().await.unwrap();
        assert_eq!(all.concat(), b"abcdef");
    }

    #[tokio::test]
    async fn reader_fails_on_mismatch_with_both_digests() {
        let expected = Digest::of(b"abcdef");
        let mut r = reader_over(expected, vec![b"abc", b"xyz"]);
        assert_eq!(&r.next().await.unwrap().unwrap()[..], b"abc");
        assert_eq!(&r.next().await.unwrap().unwrap()[..], b"xyz");
        assert_eq!(r.bytes_read(), 6);
        let e = r.next().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        match e {
            Error::Integrity {
                expected: exp,
                actual,
                ..
            } => {
                assert_eq!(exp, expected.to_string());
                assert_eq!(actual, Digest::of(b"abcxyz").to_string());
            }
            other => panic!("{other:?}"),
        }
        assert!(r.next().await.is_none());
    }

    #[tokio::test]
    async fn file_stream_reads_the_range_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..(READ_CHUNK * 2 + READ_CHUNK / 2))
            .map(|i| (i % 253) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        let range = 100..(data.len() as u64 - 5);
        let f = std::fs::File::open(&p).unwrap();
        let got: Vec<Bytes> = file_stream(f, p.clone(), range.clone())
            .try_collect()
            .await
            .unwrap();
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|c| c.len() <= READ_CHUNK));
        assert_eq!(got.concat(), &data[100..data.len() - 5]);
    }

    #[test]
    fn hash_file_matches_in_memory_digest() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..(HASH_BUF * 3 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let got = hash_file(&p).unwrap();
        assert_eq!(got.digest, Digest::of(&data));
        assert_eq!(got.size, data.len() as u64);
        let e = hash_file(dir.path().join("missing")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
}
