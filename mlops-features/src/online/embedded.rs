//! The embedded online store: redb on local disk (or redb's in-memory backend for tests).

use super::codec::{pack, unpack_ref};
use super::{Capabilities, OnlineRow, OnlineStore, RowSink, newer_wins, read_via_sink};
use crate::error::{Error, Result};
use async_trait::async_trait;
use mlops_core::ErrorKind;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use std::path::PathBuf;
use std::sync::Arc;

/// The backend name in errors.
pub(crate) const BACKEND: &str = "embedded";

const WATERMARKS: TableDefinition<'static, &str, i64> = TableDefinition::new("watermarks");

fn table_name(view: &str) -> String {
    format!("view/{view}")
}

fn err(e: impl Into<redb::Error>) -> Error {
    Error::Online {
        backend: BACKEND,
        message: e.into().to_string(),
        kind: ErrorKind::Backend,
    }
}

/// Builds an [`EmbeddedOnlineStore`].
#[derive(Debug, Clone, Default)]
pub struct EmbeddedOnlineStoreBuilder {
    path: Option<PathBuf>,
    in_memory: bool,
}

impl EmbeddedOnlineStoreBuilder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        Self::default()
    }
    /// The database file (created if missing).
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }
    /// Keep everything in memory (the test double; nothing persists).
    pub fn in_memory(mut self) -> Self {
        self.in_memory = true;
        self
    }
    /// Opens the database.
    ///
    /// # Errors
    /// `Invalid` when neither a path nor in-memory was chosen; `Online` when redb fails.
    pub fn build(self) -> Result<EmbeddedOnlineStore> {
        let (db, label) = if self.in_memory {
            let db = Database::builder()
                .create_with_backend(redb::backends::InMemoryBackend::new())
                .map_err(err)?;
            (db, "memory".to_string())
        } else {
            let Some(path) = self.path else {
                return Err(Error::invalid(
                    "embedded online store",
                    "",
                    "give a path or choose in_memory()",
                ));
            };
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent).map_err(|e| mlops_core::Error::io(parent, e))?;
            }
            (
                Database::create(&path).map_err(err)?,
                path.display().to_string(),
            )
        };
        Ok(EmbeddedOnlineStore {
            db: Arc::new(db),
            label,
            persistent: !self.in_memory,
        })
    }
}

/// The embedded online store on redb.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> mlops_features::Result<()> {
/// use mlops_features::{EmbeddedOnlineStore, OnlineStore};
/// let dir = std::env::temp_dir().join(format!("mlops-doc-{}", std::process::id()));
/// let store = EmbeddedOnlineStore::builder().with_path(dir.join("online.redb")).build()?;
/// assert!(store.capabilities().persistent);
/// assert_eq!(store.watermark("stats").await?, None);
/// # std::fs::remove_dir_all(dir).ok(); Ok(()) }
/// ```
#[derive(Clone)]
pub struct EmbeddedOnlineStore {
    db: Arc<Database>,
    label: String,
    persistent: bool,
}

impl std::fmt::Debug for EmbeddedOnlineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedOnlineStore")
            .field("location", &self.label)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for EmbeddedOnlineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmbeddedOnlineStore({})", self.label)
    }
}

impl EmbeddedOnlineStore {
    /// A builder.
    pub fn builder() -> EmbeddedOnlineStoreBuilder {
        EmbeddedOnlineStoreBuilder::new()
    }

    /// The redb database (for raw access, e.g. benchmarks).
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// Reads `keys` of `view` in one read transaction, handing each row to `sink` while it
    /// borrows redb's page (no copy). Microseconds per key, so it runs inline rather than
    /// paying a thread hop.
    fn read_inline(&self, view: &str, keys: &[&[u8]], sink: &mut dyn RowSink) -> Result<()> {
        let name = table_name(view);
        let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
        let tx = self.db.begin_read().map_err(err)?;
        let table = match tx.open_table(def) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => {
                keys.iter().for_each(|_| sink.push(None));
                return Ok(());
            }
            Err(e) => return Err(err(e)),
        };
        for k in keys {
            let v = table.get(*k).map_err(err)?;
            sink.push(v.as_ref().and_then(|v| unpack_ref(v.value())));
        }
        Ok(())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Database) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| Error::Online {
                backend: BACKEND,
                message: format!("write task failed: {e}"),
                kind: ErrorKind::Backend,
            })?
    }
}

#[async_trait]
impl OnlineStore for EmbeddedOnlineStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            persistent: self.persistent,
            atomic_newer_wins: true,
        }
    }

    async fn write(&self, view: &str, rows: Vec<OnlineRow>) -> Result<()> {
        let name = table_name(view);
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(err)?;
            {
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
                let mut table = tx.open_table(def).map_err(err)?;
                for row in rows {
                    let old = table
                        .get(row.key.as_slice())
                        .map_err(err)?
                        .and_then(|v| unpack_ref(v.value()).map(|o| (o.event_ts, o.created_ts)));
                    if newer_wins((row.event_ts, row.created_ts), old) {
                        table
                            .insert(row.key.as_slice(), pack(&row).as_slice())
                            .map_err(err)?;
                    }
                }
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>> {
        read_via_sink(self, view, keys).await
    }

    async fn read_into(&self, view: &str, keys: &[&[u8]], sink: &mut dyn RowSink) -> Result<()> {
        self.read_inline(view, keys, sink)
    }

    async fn set_watermark(&self, view: &str, ts: i64) -> Result<()> {
        let view = view.to_string();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(err)?;
            {
                let mut t = tx.open_table(WATERMARKS).map_err(err)?;
                let old = t.get(view.as_str()).map_err(err)?.map(|v| v.value());
                if old.is_none_or(|o| ts > o) {
                    t.insert(view.as_str(), ts).map_err(err)?;
                }
            }
            tx.commit().map_err(err)
        })
        .await
    }

    async fn watermark(&self, view: &str) -> Result<Option<i64>> {
        let tx = self.db.begin_read().map_err(err)?;
        match tx.open_table(WATERMARKS) {
            Ok(t) => Ok(t.get(view).map_err(err)?.map(|v| v.value())),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(err(e)),
        }
    }

    async fn delete_view(&self, view: &str) -> Result<()> {
        let view = view.to_string();
        self.blocking(move |db| {
            let tx = db.begin_write().map_err(err)?;
            {
                let name = table_name(&view);
                let def: TableDefinition<&[u8], &[u8]> = TableDefinition::new(&name);
                tx.delete_table(def).map_err(err)?;
                let mut t = tx.open_table(WATERMARKS).map_err(err)?;
                t.remove(view.as_str()).map_err(err)?;
            }
            tx.commit().map_err(err)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance_in_memory() {
        let s = EmbeddedOnlineStore::builder().in_memory().build().unwrap();
        crate::conformance::run_all(&s).await;
    }

    #[tokio::test]
    async fn conformance_on_disk_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.redb");
        {
            let s = EmbeddedOnlineStore::builder()
                .with_path(&path)
                .build()
                .unwrap();
            crate::conformance::run_all(&s).await;
            s.set_watermark("kept", 42).await.unwrap();
        }
        let s = EmbeddedOnlineStore::builder()
            .with_path(&path)
            .build()
            .unwrap();
        assert_eq!(s.watermark("kept").await.unwrap(), Some(42));
        assert!(EmbeddedOnlineStore::builder().build().is_err());
    }
}
