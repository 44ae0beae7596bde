//! 20 columns × 1M rows dataset drift (Evidently's DataDriftPreset takes 110 s CPU and 2.2 GiB
//! on the same shape: reference N(0, 1), current N(0.05·i, 1), default method).
//!
//! `cargo bench -p benches --bench drift_dataset` prints wall and process CPU time per run,
//! beside a single-threaded run of the same report (the baseline), and the peak RSS.
#![allow(missing_docs, clippy::unwrap_used, clippy::print_stdout)]
// benchmark sizes come from the environment (DRIFT_BENCH_ROWS), not a profile
#![allow(clippy::disallowed_methods)]

use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use mlops_monitor::{DatasetSpec, dataset_drift};
use std::sync::Arc;
use std::time::Instant;

#[path = "drift.rs"]
#[allow(dead_code)]
mod shared;

fn proc_cpu_seconds() -> f64 {
    // /proc/self/stat fields 14 (utime) and 15 (stime), in clock ticks (100 Hz on Linux)
    let s = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = s.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    let rows: usize = std::env::var("DRIFT_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let cols = 20;
    let mk = |shift: f64, seed: u64| -> RecordBatch {
        RecordBatch::try_from_iter((0..cols).map(|i| {
            let v = shared::normals(rows, shift * i as f64, 1.0, seed + i as u64);
            (
                format!("f{i:02}"),
                Arc::new(Float64Array::from(v)) as ArrayRef,
            )
        }))
        .unwrap()
    };
    let (r, c) = (mk(0.0, 7), mk(0.05, 1007));
    println!(
        "data ready: {cols} cols x {rows} rows per side, peak RSS {:.0} MiB",
        peak_rss_mib()
    );
    let spec = DatasetSpec::default();
    let run = |label: &str| {
        let mut best = (f64::INFINITY, f64::INFINITY);
        let mut result = (0, 0);
        for _ in 0..3 {
            let (t0, c0) = (Instant::now(), proc_cpu_seconds());
            let d = dataset_drift(&r, &c, &spec).unwrap();
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), proc_cpu_seconds() - c0);
            result = (d.drifted, d.total);
            if wall < best.0 {
                best = (wall, cpu);
            }
        }
        println!(
            "{label}: best of 3 wall {:.3} s, CPU {:.2} s; {}/{} drifted; peak RSS {:.0} MiB",
            best.0,
            best.1,
            result.0,
            result.1,
            peak_rss_mib()
        );
    };
    run("mlops dataset_drift (rayon, all cores)");
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| run("baseline: same report on 1 thread"));
}
