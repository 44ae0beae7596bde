//! The Rust side of `mlops-py/bench/drift_bench.py`: the drift call the Python binding makes
//! (`Sample::from_arrow` on both sides, then `column_drift` with Evidently's defaults), timed
//! on the same 10M + 10M float64 samples the script times from numpy.
//!
//! Not a criterion bench: the Python script drives it, so both figures come from one run.
//! `DRIFT_PY_REF` / `DRIFT_PY_CUR`: `.npy` files (little-endian float64, C order) written by
//! the script; `DRIFT_PY_REPEAT`: timed calls (default 5). Prints one JSON line: the seconds of
//! each call (wall and thread CPU), and the report's method and score (the script checks they equal Python's).
//!
//! `cargo bench -p benches --bench drift_py` (with the variables set).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
// the inputs come from the environment (the driving script), not a profile
#![allow(clippy::disallowed_methods, clippy::print_stdout)]

use arrow::array::{ArrayRef, Float64Array};
use mlops_monitor::{ColumnKind, DriftOptions, Sample, column_drift};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

/// A 1-D little-endian float64 `.npy` file (format 1.0/2.0/3.0, C order) as an Arrow array.
fn read_npy(path: &str) -> ArrayRef {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(bytes.starts_with(b"\x93NUMPY"), "{path}: not a .npy file");
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(&bytes[start..start + header_len]).unwrap();
    assert!(
        header.contains("'descr': '<f8'"),
        "{path}: not float64: {header}"
    );
    assert!(
        header.contains("'fortran_order': False"),
        "{path}: {header}"
    );
    let values: Vec<f64> = bytes[start + header_len..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    Arc::new(Float64Array::from(values))
}

/// CPU seconds of the calling thread (`/proc/thread-self/stat` utime + stime, 100 Hz ticks):
/// on a loaded machine the CPU a call takes varies far less than its wall time.
fn thread_cpu_seconds() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    let rest = s.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("set {k}"));
    let repeat: usize = std::env::var("DRIFT_PY_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (r, c) = (
        read_npy(&var("DRIFT_PY_REF")),
        read_npy(&var("DRIFT_PY_CUR")),
    );
    let opts = DriftOptions::evidently();
    let mut seconds = Vec::with_capacity(repeat);
    let mut cpu_seconds = Vec::with_capacity(repeat);
    let mut last = None;
    for _ in 0..repeat {
        let (t, cpu) = (Instant::now(), thread_cpu_seconds());
        // exactly what `mlops.column_drift(reference, current)` runs once the arrays are in Rust
        let rs = Sample::from_arrow(r.as_ref(), ColumnKind::Numerical).unwrap();
        let cs = Sample::from_arrow(c.as_ref(), ColumnKind::Numerical).unwrap();
        let d = column_drift("value", &rs, &cs, &opts).unwrap();
        seconds.push(t.elapsed().as_secs_f64());
        cpu_seconds.push(thread_cpu_seconds() - cpu);
        last = Some(black_box(d));
    }
    let d = last.expect("DRIFT_PY_REPEAT >= 1");
    println!(
        "{}",
        serde_json::json!({
            "n_reference": r.len(),
            "n_current": c.len(),
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "method": d.method,
            "score": d.score,
            "drift": d.drift,
        })
    );
}
