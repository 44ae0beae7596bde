//! Experiment tracking benchmarks (mlops-tracking), each beside a baseline measured in
//! the same run:
//!
//! * `log_100k_b1000_file_{fsync,nofsync}`: 100,000 points in 100 `log_batch` calls of
//!   1000 to an embedded `file://` store (durable default: fsync on), beside
//!   `baseline_store_put_100x_{fsync,nofsync}` (the same number of raw object-store
//!   puts of the same size: object_store publishes each with two flushes, file and
//!   directory) and `baseline_fs_create_fsync_100x` (100 new files written with
//!   `std::fs` and one `fsync` each: the floor of a durable create);
//! * `read_100k_history_file`: read back a 100,000-point history, beside
//!   `baseline_store_get_100x` (raw gets of the 100 segments' worth of bytes);
//! * `runlogger_100k_file`: 100,000 `RunLogger::log_metric` calls + `close`.
//!
//! With `MLOPS_BENCH_MLFLOW_URI` set, a one-shot measurement follows: 100,000 points
//! to that MLflow server through `MlflowTracker::log_batch`, beside the same bodies
//! pre-serialised and POSTed raw over the same HTTP client, with this process's CPU
//! time. Results go to `$CARGO_TARGET_DIR/criterion/tracking-mlflow.json`.
//! The peer comparison (MLflow's Python client to sqlite) is `benches/run-tracking-peer.sh`.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::disallowed_methods
)]

use criterion::{Criterion, criterion_group};
use mlops_core::Storage;
use mlops_core::object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use mlops_tracking::{
    Batch, CreateRun, EmbeddedTracker, Metric, RunLogger, RunLoggerOptions, Tracker, TrackerExt,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POINTS: i64 = 100_000;
const BATCH: i64 = 1000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn batches() -> Vec<Batch> {
    (0..POINTS / BATCH)
        .map(|b| Batch {
            metrics: (0..BATCH)
                .map(|i| {
                    let n = b * BATCH + i;
                    Metric::new("loss", n as f64 * 0.5, n).at(1_700_000_000_000 + n)
                })
                .collect(),
            ..Batch::default()
        })
        .collect()
}

fn tracker(dir: &std::path::Path, name: &str, fsync: bool) -> EmbeddedTracker {
    EmbeddedTracker::builder()
        .with_url(format!("file://{}/{name}", dir.display()))
        .with_option("fsync", fsync.to_string())
        .build()
        .unwrap()
}

/// Bytes of one 1000-point segment, for the raw-store baselines.
const SEGMENT_BYTES: usize = 30_000;

fn bench_embedded(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let data = batches();
    let mut g = c.benchmark_group("tracking");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));

    for fsync in [true, false] {
        let label = if fsync { "fsync" } else { "nofsync" };
        let t = tracker(dir.path(), &format!("w-{label}"), fsync);
        let exp = rt.block_on(t.create_experiment("bench", &[])).unwrap();
        g.bench_function(format!("log_100k_b1000_file_{label}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
                        let t0 = Instant::now();
                        for batch in &data {
                            t.log_batch(run.id(), batch).await.unwrap();
                        }
                        total += t0.elapsed();
                    }
                    total
                })
            })
        });
        let storage = Storage::from_url_opts(
            &format!("file://{}/raw-{label}", dir.path().display()),
            [("fsync", fsync.to_string())],
        )
        .unwrap();
        let payload = bytes::Bytes::from(vec![7u8; SEGMENT_BYTES]);
        let mut round = 0u64;
        g.bench_function(format!("baseline_store_put_100x_{label}"), |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        round += 1;
                        let t0 = Instant::now();
                        for i in 0..POINTS / BATCH {
                            let key = storage.path(&format!("r{round}/{i:020}")).unwrap();
                            storage
                                .store()
                                .put_opts(
                                    &key,
                                    PutPayload::from(payload.clone()),
                                    PutOptions::from(PutMode::Create),
                                )
                                .await
                                .unwrap();
                        }
                        total += t0.elapsed();
                    }
                    total
                })
            })
        });
    }

    let raw = dir.path().join("raw-fs");
    std::fs::create_dir_all(&raw).unwrap();
    let payload = vec![7u8; SEGMENT_BYTES];
    let mut round = 0u64;
    g.bench_function("baseline_fs_create_fsync_100x", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let t0 = Instant::now();
                for i in 0..POINTS / BATCH {
                    use std::io::Write;
                    let mut f =
                        std::fs::File::create_new(raw.join(format!("{round}-{i}"))).unwrap();
                    f.write_all(&payload).unwrap();
                    f.sync_all().unwrap();
                }
                total += t0.elapsed();
            }
            total
        })
    });

    // Reads: one run holding 100k points.
    let t = tracker(dir.path(), "read", false);
    let run_id = rt.block_on(async {
        let exp = t.create_experiment("read", &[]).await.unwrap();
        let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
        for batch in &data {
            t.log_batch(run.id(), batch).await.unwrap();
        }
        run.info.run_id
    });
    g.bench_function("read_100k_history_file", |b| {
        b.iter(|| {
            let h = rt.block_on(t.metric_history(&run_id, "loss")).unwrap();
            assert_eq!(h.len(), POINTS as usize);
            h
        })
    });
    let storage =
        Storage::from_url(&format!("file://{}/raw-nofsync", dir.path().display())).unwrap();
    g.bench_function("baseline_store_get_100x", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut n = 0;
                for i in 0..POINTS / BATCH {
                    let key = storage.path(&format!("r1/{i:020}")).unwrap();
                    n += storage
                        .store()
                        .get(&key)
                        .await
                        .unwrap()
                        .bytes()
                        .await
                        .unwrap()
                        .len();
                }
                n
            })
        })
    });

    let t: Arc<dyn Tracker> = Arc::new(tracker(dir.path(), "logger", true));
    let exp = rt.block_on(t.create_experiment("logger", &[])).unwrap();
    g.bench_function("runlogger_100k_file", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
                    let t0 = Instant::now();
                    let log = RunLogger::new(t.clone(), run.id(), RunLoggerOptions::default());
                    for step in 0..POINTS {
                        log.log_metric("loss", step as f64, step).await.unwrap();
                    }
                    log.close().await.unwrap();
                    total += t0.elapsed();
                }
                total
            })
        })
    });
    g.finish();
}

/// This process's user + system CPU time (Linux `/proc/self/stat`, 100 Hz ticks).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    // fields after the command: state(0) ppid(1) ... utime(11) stime(12)
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

fn mlflow_one_shot() {
    let Ok(uri) = std::env::var("MLOPS_BENCH_MLFLOW_URI") else {
        return;
    };
    use mlops_core::mlflow::{HttpMethod, HttpRequest};
    use mlops_tracking::mlflow::MlflowTracker;
    let rt = runtime();
    let t = MlflowTracker::builder().with_url(&uri).build().unwrap();
    let data = batches();
    let all = Batch {
        metrics: data.iter().flat_map(|b| b.metrics.clone()).collect(),
        ..Batch::default()
    };
    let (ours, ours_cpu, raw, raw_cpu) = rt.block_on(async {
        let exp = t
            .create_experiment(&format!("bench-{}", uuid_like()), &[])
            .await
            .unwrap();
        let warm = t.create_run(&CreateRun::new(&exp)).await.unwrap();
        t.log_metric(warm.id(), "warm", 1.0, 0).await.unwrap();

        let run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
        let c0 = cpu_time();
        let t0 = Instant::now();
        t.log_batch(run.id(), &all).await.unwrap(); // chunked into 100 requests
        let ours = t0.elapsed();
        let ours_cpu = cpu_time() - c0;

        let raw_run = t.create_run(&CreateRun::new(&exp)).await.unwrap();
        let bodies: Vec<Vec<u8>> = data
            .iter()
            .map(|b| {
                serde_json::to_vec(&serde_json::json!({
                    "run_id": raw_run.id(),
                    "metrics": b.metrics.iter().map(|m| serde_json::json!({
                        "key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step
                    })).collect::<Vec<_>>(),
                }))
                .unwrap()
            })
            .collect();
        let c0 = cpu_time();
        let t0 = Instant::now();
        for body in bodies {
            t.client()
                .send(
                    HttpRequest::new(HttpMethod::Post, "/api/2.0/mlflow/runs/log-batch")
                        .with_json(body),
                )
                .await
                .unwrap();
        }
        let raw = t0.elapsed();
        let raw_cpu = cpu_time() - c0;
        assert_eq!(
            t.metric_history(run.id(), "loss").await.unwrap().len(),
            POINTS as usize
        );
        t.delete_experiment(&exp).await.unwrap();
        (ours, ours_cpu, raw, raw_cpu)
    });
    println!(
        "mlflow log_batch 100k: ours {:.2} s (cpu {:.2} s), raw pre-serialised {:.2} s (cpu {:.2} s), ours/raw {:.3}",
        ours.as_secs_f64(),
        ours_cpu.as_secs_f64(),
        raw.as_secs_f64(),
        raw_cpu.as_secs_f64(),
        ours.as_secs_f64() / raw.as_secs_f64()
    );
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let out = format!("{target}/criterion/tracking-mlflow.json");
    let _ = std::fs::create_dir_all(format!("{target}/criterion"));
    let _ = std::fs::write(
        &out,
        serde_json::json!({
            "ours_s": ours.as_secs_f64(), "ours_cpu_s": ours_cpu.as_secs_f64(),
            "raw_s": raw.as_secs_f64(), "raw_cpu_s": raw_cpu.as_secs_f64(),
        })
        .to_string(),
    );
}

fn uuid_like() -> String {
    format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

criterion_group!(benches, bench_embedded);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    mlflow_one_shot();
}
