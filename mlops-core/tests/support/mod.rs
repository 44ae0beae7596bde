//! A counting, peak-tracking `ObjectStore` wrapper for the blob store tests.
//!
//! It proves what the blob store sends: how many single puts, multipart uploads, parts and
//! copies; the largest single payload; and the peak number of payload bytes handed to the
//! store and not yet acknowledged (parts in flight).

#![allow(dead_code)]

use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt;
use futures::stream::BoxStream;
use mlops_core::object_store::path::Path;
use mlops_core::object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result, UploadPart,
};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};

/// What went through the wrapper.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) puts: AtomicU64,
    pub(crate) multiparts: AtomicU64,
    pub(crate) parts: AtomicU64,
    pub(crate) copies: AtomicU64,
    /// Create-if-absent puts and copies that created their key (the race winners).
    pub(crate) created: AtomicU64,
    pub(crate) max_payload: AtomicU64,
    pub(crate) inflight: AtomicU64,
    pub(crate) peak_inflight: AtomicU64,
}

impl Stats {
    /// Writes of any kind (single puts, multipart uploads started, copies).
    pub(crate) fn writes(&self) -> u64 {
        self.puts.load(SeqCst) + self.multiparts.load(SeqCst) + self.copies.load(SeqCst)
    }

    fn payload(&self, len: u64) {
        self.max_payload.fetch_max(len, SeqCst);
        let now = self.inflight.fetch_add(len, SeqCst) + len;
        self.peak_inflight.fetch_max(now, SeqCst);
    }

    fn done(&self, len: u64) {
        self.inflight.fetch_sub(len, SeqCst);
    }

    pub(crate) fn get(&self, a: &AtomicU64) -> u64 {
        a.load(SeqCst)
    }
}

/// The wrapper.
#[derive(Debug)]
pub(crate) struct Counting {
    inner: Arc<dyn ObjectStore>,
    pub(crate) stats: Arc<Stats>,
}

impl Counting {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            stats: Arc::default(),
        }
    }
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    stats: Arc<Stats>,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let len = data.content_length() as u64;
        self.stats.parts.fetch_add(1, SeqCst);
        self.stats.payload(len);
        let stats = self.stats.clone();
        self.inner
            .put_part(data)
            .map(move |r| {
                stats.done(len);
                r
            })
            .boxed()
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let len = payload.content_length() as u64;
        let create = opts.mode == PutMode::Create;
        self.stats.puts.fetch_add(1, SeqCst);
        self.stats.payload(len);
        let r = self.inner.put_opts(location, payload, opts).await;
        self.stats.done(len);
        if create && r.is_ok() {
            self.stats.created.fetch_add(1, SeqCst);
        }
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.stats.multiparts.fetch_add(1, SeqCst);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountingUpload {
            inner,
            stats: self.stats.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.stats.copies.fetch_add(1, SeqCst);
        let create = matches!(options.mode, CopyMode::Create);
        let r = self.inner.copy_opts(from, to, options).await;
        if create && r.is_ok() {
            self.stats.created.fetch_add(1, SeqCst);
        }
        r
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// Deterministic pseudo-random content: `len` bytes from `seed`, produced in `chunk` pieces
/// so a test never holds the whole thing.
pub(crate) fn chunks(seed: u64, len: usize, chunk: usize) -> impl Iterator<Item = Bytes> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut left = len;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = left.min(chunk);
        left -= n;
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            // xorshift64
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            v.extend_from_slice(&state.to_le_bytes());
        }
        v.truncate(n);
        Some(Bytes::from(v))
    })
}
