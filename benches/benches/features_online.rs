//! Online read of 1,000 keys x 10 features from the embedded (redb) store through
//! `FeatureStore::get_online_features`, beside raw redb gets of the same keys in the same run.
//! Besides criterion's figures it prints p50/p99 over 2,000 timed calls of each, interleaved
//! (target: p99 <= 2 ms for the feature-store read).
//!
//! With `MLOPS_TEST_REDIS_URL` set, the same read from the Redis store, beside a raw
//! pipeline of `HMGET`s of the same keys sent with the `redis` crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use criterion::{Criterion, criterion_group, criterion_main};
use mlops_core::Storage;
use mlops_features::*;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use std::sync::Arc;
use std::time::{Duration, Instant};

const KEYS: i64 = 10_000;
const READ: usize = 1_000;
const FEATURES: usize = 10;
const T0: i64 = 1_704_067_200_000_000;

struct Setup {
    _dir: tempfile::TempDir,
    fs: FeatureStore,
    online: EmbeddedOnlineStore,
    keys: RecordBatch,
    refs: Vec<FeatureRef>,
    raw_keys: Vec<Vec<u8>>,
    redis: Option<RedisSetup>,
}

/// The Redis store, materialized from the same view, and a raw connection to it.
struct RedisSetup {
    store: RedisOnlineStore,
    hash: String,
    conn: redis::aio::MultiplexedConnection,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let n = KEYS as usize * 3;
    let mut cols: Vec<(String, ArrayRef)> = vec![
        (
            "driver_id".into(),
            Arc::new(Int64Array::from_iter_values(
                (0..n as i64).map(|i| i % KEYS),
            )),
        ),
        (
            "event_timestamp".into(),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values((0..n as i64).map(|i| T0 + i))
                    .with_timezone("UTC"),
            ),
        ),
    ];
    let mut view = FeatureView::new(
        "stats",
        Source::parquet(format!("file://{}/stats.parquet", dir.path().display())),
    )
    .with_entity("driver");
    for f in 0..FEATURES {
        cols.push((
            format!("f{f}"),
            Arc::new(Float64Array::from_iter_values(
                (0..n).map(|i| (i * f) as f64 * 0.5),
            )),
        ));
        view = view.with_feature(format!("f{f}"), ValueType::Float64);
    }
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    write_parquet_file(&dir.path().join("stats.parquet"), &[batch]).unwrap();
    let defs = Definitions::new()
        .with_entity(Entity::new("driver").with_join_key("driver_id", ValueType::Int64))
        .with_feature_view(view);
    let fs = FeatureStore::new(Storage::memory()).unwrap();
    #[allow(clippy::disallowed_methods)] // bench configuration comes from the environment
    let redis_url = std::env::var("MLOPS_TEST_REDIS_URL").ok();
    let online = EmbeddedOnlineStore::builder()
        .with_path(dir.path().join("online.redb"))
        .build()
        .unwrap();
    let redis = rt.block_on(async {
        fs.apply(&defs).await.unwrap();
        let start = chrono::DateTime::from_timestamp_micros(T0).unwrap();
        let end = chrono::DateTime::from_timestamp_micros(T0 + n as i64).unwrap();
        fs.materialize(&online, &["stats"], start, end)
            .await
            .unwrap();
        let url = redis_url?;
        let prefix = format!("bench-{}:", std::process::id());
        let store = RedisOnlineStore::builder()
            .with_url(url.clone())
            .with_prefix(prefix.clone())
            .build()
            .unwrap();
        fs.materialize(&store, &["stats"], start, end)
            .await
            .unwrap();
        let conn = redis::Client::open(url)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        Some(RedisSetup {
            store,
            hash: format!("{prefix}mlops:fv:stats"),
            conn,
        })
    });
    let ids: Vec<i64> = (0..READ as i64).map(|i| (i * 7919) % KEYS).collect();
    let keys = RecordBatch::try_from_iter(vec![(
        "driver_id",
        Arc::new(Int64Array::from(ids)) as ArrayRef,
    )])
    .unwrap();
    let refs = (0..FEATURES)
        .map(|f| FeatureRef::new("stats", format!("f{f}")).unwrap())
        .collect();
    // The raw baseline reads the same table ("view/<name>") and keys the store wrote.
    let raw_keys = {
        let tx = online.database().begin_read().unwrap();
        let t = tx
            .open_table(TableDefinition::<&[u8], &[u8]>::new("view/stats"))
            .unwrap();
        let all: Vec<Vec<u8>> = t
            .iter()
            .unwrap()
            .map(|e| e.unwrap().0.value().to_vec())
            .collect();
        (0..READ)
            .map(|i| all[(i * 7919) % all.len()].clone())
            .collect()
    };
    Setup {
        _dir: dir,
        fs,
        online,
        keys,
        refs,
        raw_keys,
        redis,
    }
}

fn raw_get(s: &Setup) -> usize {
    let tx = s.online.database().begin_read().unwrap();
    let t = tx
        .open_table(TableDefinition::<&[u8], &[u8]>::new("view/stats"))
        .unwrap();
    s.raw_keys
        .iter()
        .map(|k| t.get(k.as_slice()).unwrap().map_or(0, |v| v.value().len()))
        .sum()
}

/// The raw Redis baseline: one pipeline of `HMGET`s of <= 256 keys (one round trip).
async fn raw_redis_get(s: &Setup) -> usize {
    let r = s.redis.as_ref().unwrap();
    let mut pipe = redis::pipe();
    for chunk in s.raw_keys.chunks(256) {
        pipe.cmd("HMGET").arg(&r.hash).arg(chunk);
    }
    let got: Vec<Vec<Option<Vec<u8>>>> = pipe.query_async(&mut r.conn.clone()).await.unwrap();
    got.iter()
        .flatten()
        .map(|v| v.as_ref().map_or(0, Vec::len))
        .sum()
}

async fn store_get(s: &Setup, online: &dyn OnlineStore) -> usize {
    let b =
        s.fs.get_online_features(
            online,
            &s.keys,
            &s.refs,
            &OnlineOptions::default()
                .with_now(chrono::DateTime::from_timestamp_micros(T0).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(b.num_columns(), 1 + FEATURES);
    b.num_rows()
}

fn pct(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// Times `ours` and `raw` alternately `n` times each; prints p50/p99 of both and the ratios.
fn p99(label: &str, n: usize, mut ours: impl FnMut() -> usize, mut raw: impl FnMut() -> usize) {
    let (mut a, mut r) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        std::hint::black_box(ours());
        a.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(raw());
        r.push(t.elapsed());
    }
    let (a50, a99, r50, r99) = (
        pct(a.clone(), 0.5),
        pct(a, 0.99),
        pct(r.clone(), 0.5),
        pct(r, 0.99),
    );
    println!(
        "{label}: ours p50 {a50:?} p99 {a99:?}; raw p50 {r50:?} p99 {r99:?}; ratio p50 {:.2} p99 {:.2}",
        a50.as_secs_f64() / r50.as_secs_f64(),
        a99.as_secs_f64() / r99.as_secs_f64()
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = setup(&rt);
    let mut g = c.benchmark_group("features_online_1000x10");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("feature_store_get_online_features", |b| {
        b.to_async(&rt).iter(|| store_get(&s, &s.online))
    });
    g.bench_function("raw_redb_gets_baseline", |b| b.iter(|| raw_get(&s)));
    if let Some(r) = &s.redis {
        g.bench_function("redis_get_online_features", |b| {
            b.to_async(&rt).iter(|| store_get(&s, &r.store))
        });
        g.bench_function("raw_redis_pipelined_hmget_baseline", |b| {
            b.to_async(&rt).iter(|| raw_redis_get(&s))
        });
    }
    g.finish();

    p99(
        "features_online 1000 keys x 10 features, embedded get_online_features vs raw redb gets",
        2_000,
        || rt.block_on(store_get(&s, &s.online)),
        || raw_get(&s),
    );
    if let Some(r) = &s.redis {
        let before = r.store.round_trips();
        p99(
            "features_online 1000 keys x 10 features, redis get_online_features vs raw pipelined HMGETs",
            1_000,
            || rt.block_on(store_get(&s, &r.store)),
            || rt.block_on(raw_redis_get(&s)),
        );
        println!(
            "redis round trips per get_online_features: {:.2}",
            (r.store.round_trips() - before) as f64 / 1_000.0
        );
        rt.block_on(r.store.delete_view("stats")).unwrap();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
