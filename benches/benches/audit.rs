//! Audit log throughput on `file://` (fsync on, the default), each figure beside a
//! raw baseline on the same store in the same run:
//!
//! - `audit_write/group_commit_1000`: record 1,000 events, then `flush` (one segment);
//!   baseline `raw_put_1000`: one plain `put` of the same segment bytes.
//! - `audit_write/flush_per_event`: record one event, then `flush`;
//!   baseline `raw_put_1`: one plain `put` of a one-record segment.
//! - `audit_verify/verify`: `verify()` over a 40,000-event log;
//!   baseline `raw_read`: list and read the same segment objects.
//!
//! Run: `cargo bench -p benches --bench audit`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::{StreamExt, TryStreamExt};
use mlops_core::audit::{AuditEvent, AuditLog, AuditOptions, Outcome};
use mlops_core::object_store::ObjectStoreExt;
use mlops_core::object_store::path::Path;
use mlops_core::{Action, Principal, ResourceRef, Storage};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn event(who: &Principal, res: &ResourceRef, i: u64) -> AuditEvent {
    AuditEvent::new(who, Action::Write, res.clone(), Outcome::Allowed)
        .with_request(&i.to_le_bytes())
        .with_detail("method", "log_metric")
}

fn opts() -> AuditOptions {
    // explicit flushes only, so each iteration measures exactly one commit
    AuditOptions::default().with_linger(None)
}

fn first_segment(s: &Storage) -> Path {
    s.path("segments/00000000000000000001")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn write(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = |sub: &str| format!("file://{}/{sub}", dir.path().display());
    let who = Principal::service("bench");
    let res: ResourceRef = "experiment:bench".parse().unwrap_or_else(|e| panic!("{e}"));

    let mut g = c.benchmark_group("audit_write");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // group commit: 1,000 events per flush
    let s = Storage::from_url(&url("group")).unwrap_or_else(|e| panic!("{e}"));
    let log = rt
        .block_on(AuditLog::open_opts(&s, opts()))
        .unwrap_or_else(|e| panic!("{e}"));
    let n = AtomicU64::new(0);
    g.throughput(Throughput::Elements(1000));
    g.bench_function("group_commit_1000", |b| {
        b.to_async(&rt).iter(|| async {
            for _ in 0..1000 {
                log.record(event(&who, &res, n.fetch_add(1, Ordering::Relaxed)));
            }
            log.flush().await.unwrap_or_else(|e| panic!("{e}"));
        })
    });
    let seg = rt
        .block_on(async { s.store().get(&first_segment(&s)).await?.bytes().await })
        .unwrap_or_else(|e| panic!("{e}"));
    let raw = Storage::from_url(&url("raw1000")).unwrap_or_else(|e| panic!("{e}"));
    let k = AtomicU64::new(0);
    g.bench_function("raw_put_1000", |b| {
        b.to_async(&rt).iter(|| async {
            let key = raw
                .path(&format!("raw/{:020}", k.fetch_add(1, Ordering::Relaxed)))
                .unwrap_or_else(|e| panic!("{e}"));
            raw.store()
                .put(&key, seg.clone().into())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });

    // flush per event
    let s1 = Storage::from_url(&url("single")).unwrap_or_else(|e| panic!("{e}"));
    let log1 = rt
        .block_on(AuditLog::open_opts(&s1, opts()))
        .unwrap_or_else(|e| panic!("{e}"));
    g.throughput(Throughput::Elements(1));
    g.bench_function("flush_per_event", |b| {
        b.to_async(&rt).iter(|| async {
            log1.record(event(&who, &res, n.fetch_add(1, Ordering::Relaxed)));
            log1.flush().await.unwrap_or_else(|e| panic!("{e}"));
        })
    });
    let one = rt
        .block_on(async { s1.store().get(&first_segment(&s1)).await?.bytes().await })
        .unwrap_or_else(|e| panic!("{e}"));
    let raw1 = Storage::from_url(&url("raw1")).unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("raw_put_1", |b| {
        b.to_async(&rt).iter(|| async {
            let key = raw1
                .path(&format!("raw/{:020}", k.fetch_add(1, Ordering::Relaxed)))
                .unwrap_or_else(|e| panic!("{e}"));
            raw1.store()
                .put(&key, one.clone().into())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        })
    });
    g.finish();
}

fn verify(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let s = Storage::from_url(&format!("file://{}/verify", dir.path().display()))
        .unwrap_or_else(|e| panic!("{e}"));
    let who = Principal::user("alice");
    let res: ResourceRef = "model:fraud-detector@production"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let log = rt
        .block_on(async {
            let log = AuditLog::open_opts(&s, opts()).await?;
            for seg in 0..40u64 {
                for i in 0..1000 {
                    log.record(event(&who, &res, seg * 1000 + i));
                }
                log.flush().await?;
            }
            log.close().await?;
            Ok::<_, mlops_core::Error>(log)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let report = rt.block_on(log.verify()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.is_clean() && report.records == 40_000);

    let mut g = c.benchmark_group("audit_verify");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Bytes(report.bytes));
    g.bench_function("verify", |b| {
        b.to_async(&rt).iter(|| async {
            let r = log.verify().await.unwrap_or_else(|e| panic!("{e}"));
            assert!(r.is_clean());
        })
    });
    let prefix = s.path("segments").unwrap_or_else(|e| panic!("{e}"));
    let s = &s;
    let prefix = &prefix;
    g.bench_function("raw_read", |b| {
        b.to_async(&rt).iter(|| async move {
            let metas: Vec<_> = s
                .store()
                .list(Some(prefix))
                .try_collect()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let total: u64 = futures::stream::iter(metas)
                .map(|m| async move { s.store().get(&m.location).await?.bytes().await })
                .buffered(8)
                .try_fold(0u64, |acc, b| async move { Ok(acc + b.len() as u64) })
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(total, report.bytes);
        })
    });
    g.finish();
}

criterion_group!(benches, write, verify);
criterion_main!(benches);
