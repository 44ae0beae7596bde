//! Registry: version creation and alias resolution on embedded `file://`, each beside its
//! baseline in the same run.
//!
//! - `registry_create/*`: 200 versions of one model created one after another into a fresh
//!   `file://` registry, timed without the setup, in three durabilities (ADR 0004): `flush`
//!   (the default: each create is flushed before it returns), `deferred` (group commit in
//!   the background; the clock stops only after a final `flush()`, so all 200 are durable
//!   when it does) and `off` (`fsync=false`, never flushed). Two shapes:
//!   metadata only (run lineage, like MLflow's `create_model_version(name, source, run_id)`:
//!   the comparable shape, since the peer uploads nothing) and with a 1 KiB artifact each
//!   (its blob, then the record: more work than the peer). The peer is MLflow's
//!   client on its default sqlite store (`tools/mlflow_peer_bench.py` case d: no artifact
//!   upload, `source` is a run URI), run by `benches/run-registry-peer.sh`. Target: ≥ 20×
//!   faster. Each shape also runs with `fsync=false` to show how much of the time is the
//!   disk's flush latency, and beside two floors: `baseline_raw_create_put_200*` is 200
//!   create-only puts of a version-record-sized object through object_store on the same
//!   store, and `baseline_one_flush_200` is 200 files written and `fsync`ed once each
//!   with std::fs (the least a create that is durable on return can cost).
//!   Each sample's directory is kept until the end, so deleting it (this machine mounts
//!   with `discard`) does not slow the next sample.
//! - `registry_resolve/*`: `resolve_alias` on a model with 200 versions beside a raw
//!   object-store `get` of the same version record key, a plain `std::fs::read` of that
//!   record's file, and a raw `get` of a missing key. A warm resolve makes one read: the
//!   freshness probe of the next event's file, read in place on `file://` (ADR 0004).
//!
//! Run with `benches/run-registry-peer.sh`, which also runs the MLflow peer and prints ratios.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use mlops_core::object_store::ObjectStoreExt;
use mlops_core::path::ArtifactPath;
use mlops_core::{LineageRef, Principal, RunRef};
use mlops_registry::{EmbeddedRegistry, ModelRegistry, NewModelVersion, RegistryExt};
use std::hint::black_box;
use std::time::{Duration, Instant};

const VERSIONS: u64 = 200;

#[allow(clippy::disallowed_methods)] // bench configuration comes from the environment
fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("MLOPS_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn registry(dir: &std::path::Path, durability: &str) -> EmbeddedRegistry {
    EmbeddedRegistry::builder()
        .with_url(format!("file://{}/registry", dir.display()))
        .with_option("durability", durability)
        .build()
        .unwrap()
}

/// Sample directories, dropped (deleted) when the group ends.
static KEEP: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::new(Vec::new());

fn keep(dir: tempfile::TempDir) {
    KEEP.lock().unwrap().push(dir);
}

fn new_version(i: u64, artifact: bool) -> NewModelVersion {
    let nv = NewModelVersion::new(&Principal::service("bench")).with_lineage(
        LineageRef::default().with_run(RunRef {
            tracking_uri: "file:///mlruns".into(),
            run_id: format!("run-{i}"),
        }),
    );
    if artifact {
        let mut bytes = vec![0u8; 1024];
        bytes[..8].copy_from_slice(&i.to_le_bytes());
        nv.with_artifact(ArtifactPath::new("model.bin").unwrap(), bytes)
    } else {
        nv
    }
}

async fn create_200(artifact: bool, durability: &str) -> Duration {
    let dir = bench_dir();
    let reg = registry(dir.path(), durability);
    let m = "bench-model".parse().unwrap();
    reg.create_model(&m).await.unwrap();
    let t = Instant::now();
    for i in 1..=VERSIONS {
        let v = reg
            .create_version(&m, new_version(i, artifact))
            .await
            .unwrap();
        assert_eq!(v.version, i);
    }
    reg.flush().await.unwrap(); // deferred: every version is durable when the clock stops
    let took = t.elapsed();
    keep(dir);
    took
}

/// 200 record-sized files, each created, written and `fsync`ed once (std::fs).
fn one_flush_200() -> Duration {
    use std::io::Write;
    let dir = bench_dir();
    let sub = dir.path().join("raw");
    std::fs::create_dir(&sub).unwrap();
    let payload = vec![b'x'; 600];
    let t = Instant::now();
    for i in 1..=VERSIONS {
        let mut f = std::fs::File::create_new(sub.join(format!("{i:020}"))).unwrap();
        f.write_all(&payload).unwrap();
        f.sync_all().unwrap();
    }
    let took = t.elapsed();
    keep(dir);
    took
}

/// 200 create-only puts of a record-sized payload: the floor of one durable put per version.
async fn raw_puts_200(fsync: bool) -> Duration {
    use mlops_core::object_store::{PutMode, PutOptions};
    let dir = bench_dir();
    let reg = registry(dir.path(), if fsync { "flush" } else { "off" });
    let store = reg.storage().store().clone();
    let payload = vec![b'x'; 600];
    // the directory exists beforehand, as the versions directory does in the registry
    store
        .put(
            &reg.storage().path("raw/0").unwrap(),
            payload.clone().into(),
        )
        .await
        .unwrap();
    let t = Instant::now();
    for i in 1..=VERSIONS {
        let key = reg.storage().path(&format!("raw/{i:020}")).unwrap();
        store
            .put_opts(
                &key,
                payload.clone().into(),
                PutOptions::from(PutMode::Create),
            )
            .await
            .unwrap();
    }
    let took = t.elapsed();
    keep(dir);
    took
}

fn bench_create(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut g = c.benchmark_group("registry_create");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    for (name, artifact, durability) in [
        ("ours_file_200_versions_metadata", false, "flush"),
        (
            "ours_file_deferred_200_versions_metadata",
            false,
            "deferred",
        ),
        ("ours_file_200_versions_1kib_artifact", true, "flush"),
        (
            "ours_file_deferred_200_versions_1kib_artifact",
            true,
            "deferred",
        ),
        ("ours_file_nofsync_200_versions_metadata", false, "off"),
        ("ours_file_nofsync_200_versions_1kib_artifact", true, "off"),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += create_200(artifact, durability).await;
                }
                total
            });
        });
    }
    for (name, fsync) in [
        ("baseline_raw_create_put_200", true),
        ("baseline_raw_create_put_200_nofsync", false),
    ] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    total += raw_puts_200(fsync).await;
                }
                total
            });
        });
    }
    g.bench_function("baseline_one_flush_200", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one_flush_200()).sum());
    });
    g.finish();
    KEEP.lock().unwrap().clear();
}

fn bench_resolve(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = bench_dir();
    let reg = registry(dir.path(), "flush");
    let m = "bench-model".parse().unwrap();
    let alias = "production".parse().unwrap();
    let key = rt.block_on(async {
        reg.create_model(&m).await.unwrap();
        for i in 1..=VERSIONS {
            reg.create_version(&m, new_version(i, true)).await.unwrap();
        }
        reg.set_alias(&m, &alias, 150).await.unwrap();
        reg.version_key(&m, 150).unwrap()
    });
    // a key in the same directory that does not exist
    let missing = reg.version_key(&m, VERSIONS + 1_000).unwrap();
    let store = reg.storage().store().clone();
    let file = dir.path().join("registry").join(key.as_ref());
    assert!(file.is_file(), "{}", file.display());
    let mut g = c.benchmark_group("registry_resolve");
    g.sample_size(50);
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("ours_resolve_alias_file", |b| {
        b.to_async(&rt).iter(|| async {
            let v = reg.resolve_alias(&m, &alias).await.unwrap();
            black_box(v.version)
        });
    });
    g.bench_function("baseline_raw_get_version_record_file", |b| {
        b.to_async(&rt).iter(|| async {
            let got = store.get(&key).await.unwrap().bytes().await.unwrap();
            black_box(got.len())
        });
    });
    g.bench_function("baseline_fs_read_version_record_file", |b| {
        b.iter(|| black_box(std::fs::read(&file).unwrap().len()));
    });
    g.bench_function("baseline_raw_get_missing_key_file", |b| {
        b.to_async(&rt).iter(|| async {
            let got = store.get(&missing).await;
            black_box(got.is_err())
        });
    });
    g.finish();
}

criterion_group!(benches, bench_create, bench_resolve);
criterion_main!(benches);
