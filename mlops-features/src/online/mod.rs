//! The online store: the latest feature row per entity key, for low-latency reads.

pub(crate) mod codec;
pub(crate) mod embedded;
#[cfg(feature = "redis")]
pub(crate) mod redis;

use crate::error::Result;
use async_trait::async_trait;
use bytes::Bytes;
use std::sync::Arc;

/// What a backend can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Data survives a restart of the process.
    pub persistent: bool,
    /// `write` compares and swaps atomically (concurrent materializations cannot regress a
    /// key to an older row).
    pub atomic_newer_wins: bool,
}

/// One materialized row: the encoded entity key, the row's event and created time (UTC µs)
/// and the encoded feature values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineRow {
    /// Canonical encoding of the entity key.
    pub key: Vec<u8>,
    /// Event time of the row, UTC microseconds.
    pub event_ts: i64,
    /// Created time of the row, UTC microseconds (`i64::MIN` when unknown).
    pub created_ts: i64,
    /// Encoded feature values.
    pub value: Bytes,
}

/// A key-value store holding the latest feature row per (view, entity key).
///
/// # Contract
/// * Keys are opaque bytes; values are stored with their `(event_ts, created_ts)`.
/// * `write` keeps, per key, the row with the greater `(event_ts, created_ts)`; an equal
///   pair overwrites (so re-running a materialization is idempotent).
/// * Views are independent namespaces; a read of a view never written returns all `None`.
///
/// # Wrappers
/// Blanket impls for `Arc<T>` and `Box<T>` forward every method.
///
/// # Clone
/// Backends are cheap handles; share one as `Arc<dyn OnlineStore>`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_features::Result<()> {
/// use mlops_features::{EmbeddedOnlineStore, OnlineRow, OnlineStore};
/// let store = EmbeddedOnlineStore::builder().in_memory().build()?;
/// let row = OnlineRow { key: b"k1".to_vec(), event_ts: 10, created_ts: 0, value: "v".into() };
/// store.write("stats", vec![row]).await?;
/// let got = store.read("stats", &[b"k1".to_vec(), b"k2".to_vec()]).await?;
/// assert_eq!(got[0].as_ref().map(|r| r.event_ts), Some(10));
/// assert!(got[1].is_none());
/// # Ok(()) }
/// ```
#[async_trait]
pub trait OnlineStore: std::fmt::Debug + std::fmt::Display + Send + Sync + 'static {
    /// What this backend can do.
    fn capabilities(&self) -> Capabilities;

    /// Writes rows of `view`.
    ///
    /// **Behavior**: per key, a row older than the stored one (by `(event_ts, created_ts)`)
    /// is ignored; idempotent.
    ///
    /// # Errors
    /// `Online` with the backend's kind (`Unavailable` for a lost connection).
    async fn write(&self, view: &str, rows: Vec<OnlineRow>) -> Result<()>;

    /// Reads `keys` of `view`, in key order; a missing key gives `None`.
    ///
    /// # Errors
    /// `Online` with the backend's kind.
    async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>>;

    /// Records that `view` is materialized up to `ts` (UTC µs). The watermark never moves back.
    ///
    /// # Errors
    /// `Online`.
    async fn set_watermark(&self, view: &str, ts: i64) -> Result<()>;

    /// The view's watermark, if it was ever materialized.
    ///
    /// # Errors
    /// `Online`.
    async fn watermark(&self, view: &str) -> Result<Option<i64>>;

    /// Removes every row and the watermark of `view`. Deleting a missing view is a no-op.
    ///
    /// # Errors
    /// `Online`.
    async fn delete_view(&self, view: &str) -> Result<()>;
}

macro_rules! forward {
    ($t:ty) => {
        #[async_trait]
        impl<T: OnlineStore + ?Sized> OnlineStore for $t {
            fn capabilities(&self) -> Capabilities {
                (**self).capabilities()
            }
            async fn write(&self, view: &str, rows: Vec<OnlineRow>) -> Result<()> {
                (**self).write(view, rows).await
            }
            async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>> {
                (**self).read(view, keys).await
            }
            async fn set_watermark(&self, view: &str, ts: i64) -> Result<()> {
                (**self).set_watermark(view, ts).await
            }
            async fn watermark(&self, view: &str) -> Result<Option<i64>> {
                (**self).watermark(view).await
            }
            async fn delete_view(&self, view: &str) -> Result<()> {
                (**self).delete_view(view).await
            }
        }
    };
}
forward!(Arc<T>);
forward!(Box<T>);

/// Whether `new` should replace `old` under the newer-wins rule.
pub(crate) fn newer_wins(new: (i64, i64), old: Option<(i64, i64)>) -> bool {
    old.is_none_or(|o| new >= o)
}
