//! The online store: the latest feature row per entity key, for low-latency reads.

pub(crate) mod codec;
pub(crate) mod embedded;
pub(crate) mod read;
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

/// A stored row as [`OnlineStore::read_into`] hands it over: borrowed from the backend's
/// buffer, valid only during the call of [`RowSink::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRow<'a> {
    /// Event time of the row, UTC microseconds.
    pub event_ts: i64,
    /// Created time of the row, UTC microseconds (`i64::MIN` when unknown).
    pub created_ts: i64,
    /// Encoded feature values.
    pub value: &'a [u8],
}

/// Receives the rows of [`OnlineStore::read_into`]: one call per requested key, in key
/// order, `None` for a key that is not stored.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_features::Result<()> {
/// use mlops_features::{EmbeddedOnlineStore, OnlineRow, OnlineStore, RowSink, StoredRow};
/// struct Sizes(Vec<Option<usize>>);
/// impl RowSink for Sizes {
///     fn push(&mut self, row: Option<StoredRow<'_>>) {
///         self.0.push(row.map(|r| r.value.len()));
///     }
/// }
/// let store = EmbeddedOnlineStore::builder().in_memory().build()?;
/// let row = OnlineRow { key: b"k1".to_vec(), event_ts: 10, created_ts: 0, value: "abc".into() };
/// store.write("stats", vec![row]).await?;
/// let mut sizes = Sizes(Vec::new());
/// store.read_into("stats", &[b"k2", b"k1"], &mut sizes).await?;
/// assert_eq!(sizes.0, vec![None, Some(3)]);
/// # Ok(()) }
/// ```
pub trait RowSink: Send {
    /// The next key's row.
    fn push(&mut self, row: Option<StoredRow<'_>>);
}

/// Collects rows as [`OnlineStore::read`] returns them (copies keys and values).
struct Collect<'k> {
    keys: std::slice::Iter<'k, Vec<u8>>,
    out: Vec<Option<OnlineRow>>,
}

impl RowSink for Collect<'_> {
    fn push(&mut self, row: Option<StoredRow<'_>>) {
        let key = self.keys.next();
        self.out.push(row.zip(key).map(|(r, k)| OnlineRow {
            key: k.clone(),
            event_ts: r.event_ts,
            created_ts: r.created_ts,
            value: Bytes::copy_from_slice(r.value),
        }));
    }
}

/// [`OnlineStore::read`] in terms of [`OnlineStore::read_into`], for backends whose
/// `read_into` is the primitive.
pub(crate) async fn read_via_sink<S: OnlineStore + ?Sized>(
    s: &S,
    view: &str,
    keys: &[Vec<u8>],
) -> Result<Vec<Option<OnlineRow>>> {
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let mut sink = Collect {
        keys: keys.iter(),
        out: Vec::with_capacity(keys.len()),
    };
    s.read_into(view, &refs, &mut sink).await?;
    Ok(sink.out)
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

    /// Reads `keys` of `view` as [`OnlineStore::read`] does, but hands each row to `sink`
    /// (exactly once per key, in key order) while it still borrows the backend's buffer:
    /// no copy of keys or values. `FeatureStore::get_online_features` reads this way.
    ///
    /// The default implementation calls [`OnlineStore::read`]; backends override it.
    ///
    /// # Errors
    /// `Online` with the backend's kind.
    async fn read_into(&self, view: &str, keys: &[&[u8]], sink: &mut dyn RowSink) -> Result<()> {
        let owned: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
        for row in self.read(view, &owned).await? {
            sink.push(row.as_ref().map(|r| StoredRow {
                event_ts: r.event_ts,
                created_ts: r.created_ts,
                value: &r.value,
            }));
        }
        Ok(())
    }

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
            async fn read_into(
                &self,
                view: &str,
                keys: &[&[u8]],
                sink: &mut dyn RowSink,
            ) -> Result<()> {
                (**self).read_into(view, keys, sink).await
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
