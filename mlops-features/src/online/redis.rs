//! The Redis online store: one hash per view (field = entity key, value = stored row),
//! reads as pipelined `HMGET`s.

use super::codec::{pack, unpack_ref};
use super::{Capabilities, OnlineRow, OnlineStore, RowSink, newer_wins, read_via_sink};
use crate::error::{Error, Result};
use async_trait::async_trait;
use mlops_core::ErrorKind;
use redis::aio::MultiplexedConnection;
use redis::{Cmd, FromRedisValue, Pipeline};
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::OnceCell;

/// The backend name in errors.
pub(crate) const BACKEND: &str = "redis";

/// Keys per `HMGET`; a read of more keys sends several in one pipeline (one round trip).
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
            round_trips: AtomicU64::new(0),
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
/// A read of any number of keys is one round trip: one pipeline of `HMGET`s of up to 256
/// keys each. Writes read the stored rows first and write only newer ones; two
/// materializations running at once may race (capability `atomic_newer_wins` is false).
pub struct RedisOnlineStore {
    client: redis::Client,
    conn: OnceCell<MultiplexedConnection>,
    display: String,
    prefix: String,
    /// Requests sent and answered (a pipeline counts once).
    round_trips: AtomicU64,
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

    /// Round trips to the server so far (a pipeline of commands counts as one).
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// Sends `pipe` and waits for every reply: one round trip.
    async fn pipeline<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T> {
        let mut con = self.conn().await?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        pipe.query_async(&mut con).await.map_err(err)
    }

    /// Sends `cmd` and waits for its reply: one round trip.
    async fn command<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T> {
        let mut con = self.conn().await?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        cmd.query_async(&mut con).await.map_err(err)
    }

    fn hash(&self, view: &str) -> String {
        format!("{}mlops:fv:{view}", self.prefix)
    }

    fn watermarks(&self) -> String {
        format!("{}mlops:watermarks", self.prefix)
    }

    /// The stored bytes of `keys`, in key order: one pipeline of `HMGET`s, one round trip.
    async fn raw_read(&self, view: &str, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let hash = self.hash(view);
        let mut pipe = redis::pipe();
        for chunk in keys.chunks(CHUNK) {
            pipe.cmd("HMGET").arg(&hash).arg(chunk);
        }
        let parts: Vec<Vec<Option<Vec<u8>>>> = self.pipeline(&pipe).await?;
        let got: Vec<Option<Vec<u8>>> = parts.into_iter().flatten().collect();
        if got.len() != keys.len() {
            return Err(Error::Online {
                backend: BACKEND,
                message: format!(
                    "HMGET returned {} values for {} keys",
                    got.len(),
                    keys.len()
                ),
                kind: ErrorKind::Backend,
            });
        }
        Ok(got)
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
        let keys: Vec<&[u8]> = rows.iter().map(|r| r.key.as_slice()).collect();
        let old = self.raw_read(view, &keys).await?;
        let hash = self.hash(view);
        let mut pipe = redis::pipe();
        let mut n = 0;
        for (row, old) in rows.iter().zip(old) {
            let old = old
                .as_deref()
                .and_then(unpack_ref)
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
        self.pipeline(&pipe).await
    }

    async fn read(&self, view: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<OnlineRow>>> {
        read_via_sink(self, view, keys).await
    }

    async fn read_into(&self, view: &str, keys: &[&[u8]], sink: &mut dyn RowSink) -> Result<()> {
        for v in self.raw_read(view, keys).await? {
            sink.push(v.as_deref().and_then(unpack_ref));
        }
        Ok(())
    }

    async fn set_watermark(&self, view: &str, ts: i64) -> Result<()> {
        let old: Option<i64> = self
            .command(redis::cmd("HGET").arg(self.watermarks()).arg(view))
            .await?;
        if old.is_none_or(|o| ts > o) {
            self.command::<()>(redis::cmd("HSET").arg(self.watermarks()).arg(view).arg(ts))
                .await?;
        }
        Ok(())
    }

    async fn watermark(&self, view: &str) -> Result<Option<i64>> {
        self.command(redis::cmd("HGET").arg(self.watermarks()).arg(view))
            .await
    }

    async fn delete_view(&self, view: &str) -> Result<()> {
        self.pipeline(
            redis::pipe()
                .cmd("DEL")
                .arg(self.hash(view))
                .ignore()
                .cmd("HDEL")
                .arg(self.watermarks())
                .arg(view)
                .ignore(),
        )
        .await
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

    /// The commands `addr` sends, as `MONITOR` on another connection sees them, until it
    /// sends `ECHO <stop>` (included).
    fn watch(url: &str, addr: String, stop: String) -> std::thread::JoinHandle<Vec<String>> {
        let client = redis::Client::open(url).unwrap();
        let mut mon = client.get_connection().unwrap();
        mon.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        mon.send_packed_command(&redis::cmd("MONITOR").get_packed_command())
            .unwrap();
        assert_eq!(mon.recv_response().unwrap(), redis::Value::Okay);
        std::thread::spawn(move || {
            let mut cmds = Vec::new();
            loop {
                let line = match mon.recv_response().unwrap() {
                    redis::Value::SimpleString(l) => l,
                    other => panic!("unexpected MONITOR reply {other:?}"),
                };
                // `1700000000.123456 [0 127.0.0.1:5555] "HMGET" "key" ...`
                let Some((_, rest)) = line.split_once(&format!(" {addr}] ")) else {
                    continue;
                };
                let name = rest.split(' ').next().unwrap_or("").trim_matches('"');
                cmds.push(name.to_ascii_uppercase());
                if name.eq_ignore_ascii_case("ECHO") && rest.contains(&stop) {
                    return cmds;
                }
            }
        })
    }

    #[tokio::test]
    async fn a_read_of_1000_keys_is_one_round_trip_of_pipelined_hmgets() {
        let Some(url) = mlops_core::testkit::server("MLOPS_TEST_REDIS_URL") else {
            return;
        };
        let s = RedisOnlineStore::builder()
            .with_url(url.clone())
            .with_prefix(format!("{}:", mlops_core::testkit::namespace()))
            .build()
            .unwrap();
        let v = mlops_core::testkit::namespace();
        let rows: Vec<OnlineRow> = (0..1000u32)
            .filter(|i| !i.is_multiple_of(3))
            .map(|i| OnlineRow {
                key: i.to_be_bytes().to_vec(),
                event_ts: i64::from(i),
                created_ts: 0,
                value: bytes::Bytes::from(format!("v{i}")),
            })
            .collect();
        s.write(&v, rows).await.unwrap();
        // Our (multiplexed) connection's address, as MONITOR names it.
        let info: String = s.command(redis::cmd("CLIENT").arg("INFO")).await.unwrap();
        let addr = info
            .split(' ')
            .find_map(|f| f.strip_prefix("addr="))
            .unwrap()
            .to_string();
        let stop = mlops_core::testkit::namespace();
        let watcher = watch(&url, addr, stop.clone());

        let keys: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let before = s.round_trips();
        let got = s.read(&v, &keys).await.unwrap();
        assert_eq!(s.round_trips() - before, 1);
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let mut count = 0usize;
        struct Count<'a>(&'a mut usize, usize);
        impl RowSink for Count<'_> {
            fn push(&mut self, row: Option<super::super::StoredRow<'_>>) {
                assert_eq!(
                    row.map(|r| r.event_ts),
                    (!self.1.is_multiple_of(3)).then_some(self.1 as i64)
                );
                *self.0 += 1;
                self.1 += 1;
            }
        }
        s.read_into(&v, &refs, &mut Count(&mut count, 0))
            .await
            .unwrap();
        assert_eq!(s.round_trips() - before, 2);
        assert_eq!(count, 1000);
        for (i, g) in got.iter().enumerate() {
            assert_eq!(
                g.as_ref().map(|r| (r.event_ts, r.value.clone())),
                (!i.is_multiple_of(3)).then(|| (i as i64, bytes::Bytes::from(format!("v{i}"))))
            );
        }
        let _: String = s.command(redis::cmd("ECHO").arg(&stop)).await.unwrap();
        let cmds = tokio::task::spawn_blocking(move || watcher.join().unwrap())
            .await
            .unwrap();
        // Two reads of 1,000 keys: 4 HMGETs of <= 256 keys each, one pipeline per read.
        let hmget = vec!["HMGET".to_string(); 8];
        assert_eq!(cmds[..cmds.len() - 1], hmget[..]);
        assert_eq!(cmds.last().map(String::as_str), Some("ECHO"));
        s.delete_view(&v).await.unwrap();
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
