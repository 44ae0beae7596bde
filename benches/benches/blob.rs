//! Blob store: hashing and `put` of a 256 MiB file, each beside its baseline in the same run.
//!
//! - `blob_hash/*`: our single-threaded blake3 paths (`Digest::of` over the buffer, the
//!   8 MiB-chunk streaming hasher used by uploads and reads, `blob::hash_file`) beside a
//!   b3sum-style baseline: one `blake3::Hasher::update` per 64 KiB read from the file.
//!   Target: ≥ 1 GB/s on one core.
//! - `blob_put/*`: `BlobStore::put_file` of the file into a fresh `file://` store (by default
//!   one pass: read, hash, write in parts, fsync, link into place; and with
//!   `HashFirst::Always`: hash, then read, hash and write) beside `cp` + `sync` run as processes (`sync <file>` flushes the copy the
//!   way our store flushes its blob; `sync` alone flushes the whole machine and is shown too).
//!   Target: put ≥ 0.5× the speed of `cp` + `sync`.
//!
//! Run with `benches/run-blob.sh`, which prints the ratios. Set `MLOPS_BENCH_DIR` to put the
//! files elsewhere than the system temporary directory.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mlops_core::Storage;
use mlops_core::blob::{BlobOptions, BlobStore, HashFirst, hash_file};
use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SIZE: usize = 256 * 1024 * 1024;
const CHUNK: usize = 8 * 1024 * 1024;

fn data() -> Vec<u8> {
    // Incompressible-looking, deterministic content (xorshift64).
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(SIZE);
    while v.len() < SIZE {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v
}

#[allow(clippy::disallowed_methods)] // bench configuration comes from the environment
fn bench_dir() -> tempfile::TempDir {
    match std::env::var_os("MLOPS_BENCH_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn write_source(dir: &Path, buf: &[u8]) -> PathBuf {
    let p = dir.join("source.bin");
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(buf).unwrap();
    f.sync_all().unwrap();
    p
}

fn b3sum_style(path: &Path) -> blake3::Hash {
    let mut f = std::fs::File::open(path).unwrap();
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize()
}

fn hashing(c: &mut Criterion) {
    let buf = data();
    let dir = bench_dir();
    let src = write_source(dir.path(), &buf);
    let want = mlops_core::Digest::of(&buf);

    let mut g = c.benchmark_group("blob_hash");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("ours_digest_of_buffer", |b| {
        b.iter(|| assert_eq!(mlops_core::Digest::of(black_box(&buf)), want))
    });
    g.bench_function("ours_stream_8mib_chunks", |b| {
        b.iter(|| {
            let mut h = blake3::Hasher::new();
            for c in black_box(&buf).chunks(CHUNK) {
                h.update(c);
            }
            assert_eq!(mlops_core::Digest::from_hash(h.finalize()), want);
        })
    });
    g.bench_function("ours_hash_file", |b| {
        b.iter(|| assert_eq!(hash_file(black_box(&src)).unwrap().digest, want))
    });
    g.bench_function("baseline_b3sum_style_64k_reads", |b| {
        b.iter(|| assert_eq!(*b3sum_style(black_box(&src)).as_bytes(), *want.as_bytes()))
    });
    g.finish();
}

fn run(cmd: &str, args: &[&Path]) {
    let st = Command::new(cmd).args(args).status().unwrap();
    assert!(st.success(), "{cmd} failed");
}

fn put(c: &mut Criterion) {
    let buf = data();
    let dir = bench_dir();
    let src = write_source(dir.path(), &buf);
    let want = mlops_core::Digest::of(&buf);
    drop(buf);
    let rt = tokio::runtime::Runtime::new().unwrap();

    let mut g = c.benchmark_group("blob_put");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .sampling_mode(SamplingMode::Flat)
        .throughput(Throughput::Bytes(SIZE as u64));
    // The default (one staged pass on a local store), and hashing first.
    for (name, rule) in [
        ("ours_put_file_to_file_store", HashFirst::Auto),
        ("ours_put_file_hash_first", HashFirst::Always),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    // A fresh store each time: a second put of the same content is deduped.
                    let store_dir = tempfile::tempdir_in(dir.path()).unwrap();
                    let url = format!("file://{}", store_dir.path().display());
                    let storage = Storage::from_url(&url).unwrap();
                    let opts = BlobOptions::default().with_hash_first(rule);
                    let blobs = BlobStore::with_options(&storage, opts).unwrap();
                    let t = Instant::now();
                    let got = rt.block_on(blobs.put_file(&src)).unwrap();
                    total += t.elapsed();
                    assert_eq!(got.digest, want);
                }
                total
            })
        });
    }
    g.bench_function("baseline_cp_then_sync_file", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dst = dir.path().join("copy.bin");
                let t = Instant::now();
                run("cp", &[&src, &dst]);
                run("sync", &[&dst]);
                total += t.elapsed();
                std::fs::remove_file(&dst).unwrap();
            }
            total
        })
    });
    g.bench_function("baseline_cp_then_sync_all", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dst = dir.path().join("copy.bin");
                let t = Instant::now();
                run("cp", &[&src, &dst]);
                run("sync", &[]);
                total += t.elapsed();
                std::fs::remove_file(&dst).unwrap();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, hashing, put);
criterion_main!(benches);
