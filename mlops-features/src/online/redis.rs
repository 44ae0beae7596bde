//! The Redis online store: one hash per view (field = entity key, value = stored row),
//! reads as pipelined `HMGET`s.

use super::codec::{pack, unpack};
use super::{Capabilities, OnlineRow, OnlineStore, newer_wins};
use crate::error::{Error, Result};
use async_trait::async_trait;
use mlops_core::ErrorKind;
use redis::aio::MultiplexedConnection;
use tokio::sync::OnceCell;

/// The backend name in errors.
pub(crate) const BACKEND: &str = "redis";

/// Keys per `HMGET` inside one pipeline.
const CHUNK: usize = 256;

fn err(e: redis::RedisError) -> Error {
    let kind = if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() {
        ErrorKind::Unavailable
    } else if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Backend
    };
    Error::Online {
        backend: BACKEND,
        message: e.to_string(),
        kind,
    }
}

/// Builds a [`RedisOnlineStore`].
#[derive(Debug, Clone, Default)]
pub struct RedisOnlineStoreBuilder {
    url: Option<String>,
    prefix: String,
}

impl RedisOnlineStoreBuilder {
    /// A builder with nothing set.
    pub fn new() -> Self {
        Self::default()
    }
    /// The server, e.g. `redis://127.0.0.1:6379/0` (a password in the URL is never printed).
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    /// A key prefix, so several stores can share one database.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
    /// Validates the URL; connects lazily on first use.
    ///
    /// # Errors
    /// `Invalid` for a missing or malformed URL.
    pub fn build(self) -> Result<RedisOnlineStore> {
        let Some(url) = self.url else {
            return Err(Error::invalid("redis url", "", "no url given"));
        };
        let client = redis::Client::open(url.as_str())
            .map_err(|e| Error::invalid("redis url", redact(&url), e.to_string()))?;
        Ok(RedisOnlineStore {
            client,
            conn: OnceCell::new(),
            display: redact(&url),
            prefix: self.prefix,
        })
    }
}

/// `redis://user:secret@host` → `redis://host`.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://{}", &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// The Redis online store.
///
/// Writes read the stored rows first and write only newer ones; two materializations
/// running at once may race (capability `atomic_newer_wins` is false).
pub struct RedisOnlineStore {
    client: redis::Client,
    conn: OnceCell<MultiplexedConnection>,
    display: String,
    prefix: String,
}

impl std::fmt::Debug for RedisOnlineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisOnlineStore")
            .field("server", &self.display)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for RedisOnlineStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisOnlineStore({})", self.display)
    }
}

impl RedisOnlineStore {
    /// A builder.
    pub fn builder() -> RedisOnlineStoreBuilder {
        RedisOnlineStoreBuilder::new()
    }

    async fn conn(&self) -> Result<MultiplexedConnection> {
        self.conn
            .get_or_try_init(|| async {
                self.client
                    .get_multiplexed_async_connection()
                    .await
                    .map_err(err)
            })
            .await
            .cloned()
    }

    fn hash(&self, view: &str) -> String {
        format!("{}mlops:fv:{view}", self.prefix)
    }

    fn watermarks(&self) -> String {
        format!("{}mlops:watermarks", self.prefix)
    }

    async fn raw_read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let hash = self.hash(view);
        let mut pipe = redis::pipe();
        for chunk in keys.chunks(CHUNK) {
            pipe.cmd("HMGET").arg(&hash).arg(chunk);
        }
        let mut con = self.conn().await?;
        let parts: Vec<Vec<Option<Vec<u8>>>> = pipe.query_async(&mut con).await.map_err(err)?;
        Ok(parts.into_iter().flatten().collect())
    }
}

#[async_trait]
impl OnlineStore for RedisOnlineStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            persistent: true,
            atomic_newer_wins: false,
        }
    }

    async fn write(&self, view: &str, rows: Vec<OnlineRow>) -> Result<()> {
        let keys: Vec<Vec<u8>> = rows.iter().map(|r| r.key.clone()).collect();
        let old = self.raw_read(view, &keys).await?;
        let hash = self.hash(view);
        let mut pipe = redis::pipe();
        let mut n = 0;
        for (row, old) in rows.iter().zip(old) {
            let old = old
                .and_then(|o| unpack(&row.key, &o))
                .map(|o| (o.event_ts, o.created_ts));
            if newer_wins((row.event_ts, row.created_ts), old) {
                pipe.cmd("HSET")
                    .arg(&hash)
                    .arg(&row.key)
                    .arg(pack(row))
                    .ignore();
                n += 1;
            }
        }
        if n == 0 {
            return Ok(());
        }
        let mut con = self.conn().await?;
        pipe.query_async::<()>(&mut con).await.map_err(err)
    }

    async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>> {
        let raw = self.raw_read(view, keys).await?;
        Ok(keys
            .iter()
            .zip(raw)
            .map(|(k, v)| v.and_then(|v| unpack(k, &v)))
            .collect())
    }

    async fn set_watermark(&self, view: &str, ts: i64) -> Result<()> {
        let mut con = self.conn().await?;
        let old: Option<i64> = redis::cmd("HGET")
            .arg(self.watermarks())
            .arg(view)
            .query_async(&mut con)
            .await
            .map_err(err)?;
        if old.is_none_or(|o| ts > o) {
            redis::cmd("HSET")
                .arg(self.watermarks())
                .arg(view)
                .arg(ts)
                .query_async::<()>(&mut con)
                .await
                .map_err(err)?;
        }
        Ok(())
    }

    async fn watermark(&self, view: &str) -> Result<Option<i64>> {
        let mut con = self.conn().await?;
        redis::cmd("HGET")
            .arg(self.watermarks())
            .arg(view)
            .query_async(&mut con)
            .await
            .map_err(err)
    }

    async fn delete_view(&self, view: &str) -> Result<()> {
        let mut con = self.conn().await?;
        redis::pipe()
            .cmd("DEL")
            .arg(self.hash(view))
            .ignore()
            .cmd("HDEL")
            .arg(self.watermarks())
            .arg(view)
            .ignore()
            .query_async::<()>(&mut con)
            .await
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn conformance_against_redis_server() {
        let Some(url) = mlops_core::testkit::server("MLOPS_TEST_REDIS_URL") else {
            return;
        };
        let s = RedisOnlineStore::builder()
            .with_url(url)
            .with_prefix(format!("{}:", mlops_core::testkit::namespace()))
            .build()
            .unwrap();
        crate::conformance::run_all(&s).await;
    }

    #[test]
    fn urls_are_redacted_and_checked() {
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://h:1/0");
        let s = RedisOnlineStore::builder()
            .with_url("redis://u:secret@127.0.0.1:1")
            .build()
            .unwrap();
        assert!(!format!("{s:?} {s}").contains("secret"));
        assert!(RedisOnlineStore::builder().build().is_err());
        assert!(
            RedisOnlineStore::builder()
                .with_url("nope://x")
                .build()
                .is_err()
        );
    }
}
