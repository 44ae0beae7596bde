//! Drift benchmarks, each beside a baseline measured in the same run.
//!
//! `taskset -c 0 cargo bench -p benches --bench drift`. Peers (scipy, numpy, Evidently) run from
//! `benches/run-drift-peer.sh` on the same distributions: reference N(0, 1), current
//! N(0.1, 1.1), 10M + 10M float64. The figures are CPU time of the benchmark thread (as the
//! peers report `process_time`), so other load on a shared machine does not inflate them;
//! `DRIFT_BENCH_WALL=1` measures wall time instead.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]
// benchmark sizes come from the environment (DRIFT_BENCH_N), not a profile
#![allow(clippy::disallowed_methods)]

use arrow::array::{ArrayRef, Float64Array, RecordBatch};
use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mlops_monitor::profile::{Profile, ProfileOptions};
use mlops_monitor::{ColumnKind, DriftOptions, Method, Numbers, Sample, column_drift};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// CPU time of the calling thread (`sum_exec_runtime` from `/proc/thread-self/schedstat`, in
/// ns; updated at least every scheduler tick), or wall time with `DRIFT_BENCH_WALL=1`.
#[derive(Debug)]
pub(crate) struct ThreadCpu {
    wall: bool,
}

impl ThreadCpu {
    fn new() -> Self {
        let wall = std::env::var_os("DRIFT_BENCH_WALL").is_some()
            || std::fs::read_to_string("/proc/thread-self/schedstat").is_err();
        ThreadCpu { wall }
    }

    fn now_ns(&self, origin: Instant) -> u64 {
        if self.wall {
            return origin.elapsed().as_nanos() as u64;
        }
        std::fs::read_to_string("/proc/thread-self/schedstat")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Debug)]
struct Nanos;

impl ValueFormatter for Nanos {
    fn scale_values(&self, ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if ns < 1e3 {
            (1.0, "ns")
        } else if ns < 1e6 {
            (1e-3, "µs")
        } else if ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(&self, _: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => *n,
            Throughput::Bits(n) => *n,
            Throughput::ElementsAndBytes { elements, .. } => *elements,
        } as f64;
        values.iter_mut().for_each(|v| *v = n * 1e3 / *v);
        "M/s"
    }

    fn scale_for_machines(&self, _: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for ThreadCpu {
    type Intermediate = (Instant, u64);
    type Value = u64;

    fn start(&self) -> (Instant, u64) {
        let origin = Instant::now();
        (origin, self.now_ns(origin))
    }
    fn end(&self, (origin, t0): (Instant, u64)) -> u64 {
        self.now_ns(origin).saturating_sub(t0)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanos
    }
}

/// Deterministic normal draws (xorshift + Box-Muller).
pub(crate) fn normals(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (u1, u2) = (next(), next());
        let r = (-2.0 * u1.ln()).sqrt();
        let t = std::f64::consts::TAU * u2;
        out.push(mean + sd * r * t.cos());
        if out.len() < n {
            out.push(mean + sd * r * t.sin());
        }
    }
    out
}

fn n() -> usize {
    std::env::var("DRIFT_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

fn sample(v: &[f64]) -> Sample {
    Sample::Numerical(Numbers {
        values: v.to_vec(),
        integer: false,
    })
}

fn bench(c: &mut Criterion<ThreadCpu>) {
    let n = n();
    let (r, cu) = (normals(n, 0.0, 1.0, 42), normals(n, 0.1, 1.1, 43));
    let (rs, cs) = (sample(&r), sample(&cu));
    let mut g = c.benchmark_group(format!("drift_{n}+{n}"));
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // floors / baselines
    g.bench_function("floor: radix sort one side (copy)", |b| {
        b.iter(|| {
            let mut v = r.clone();
            radsort::sort(&mut v);
            black_box(v[0])
        })
    });
    g.bench_function(
        "baseline: std sort_unstable_by(total_cmp) one side (copy)",
        |b| {
            b.iter(|| {
                let mut v = r.clone();
                v.sort_unstable_by(f64::total_cmp);
                black_box(v[0])
            })
        },
    );

    for (label, m) in [
        ("ks", Method::Ks),
        ("wasserstein (normed)", Method::Wasserstein),
    ] {
        let o = DriftOptions::evidently().with_method(m);
        g.bench_function(format!("mlops {label}"), |b| {
            b.iter(|| black_box(column_drift("x", &rs, &cs, &o).unwrap().score))
        });
    }
    let o = DriftOptions::evidently().with_method(Method::Psi);
    g.bench_function("mlops evidently psi (sturges over ref+cur)", |b| {
        b.iter(|| black_box(column_drift("x", &rs, &cs, &o).unwrap().score))
    });

    // standard PSI against a stored profile (fitted once, outside the timing)
    let arr = |v: &[f64]| -> ArrayRef { Arc::new(Float64Array::from(v.to_vec())) };
    let rb = RecordBatch::try_from_iter([("x", arr(&r))]).unwrap();
    let cb = RecordBatch::try_from_iter([("x", arr(&cu))]).unwrap();
    let profile = Profile::from_json(
        &Profile::from_batch(&rb, &ProfileOptions::default())
            .unwrap()
            .to_json()
            .unwrap(),
    )
    .unwrap();
    let so = DriftOptions::standard().with_method(Method::Psi);
    let col = &profile.columns["x"];
    g.bench_function(
        "mlops standard psi vs stored profile (current Sample)",
        |b| b.iter(|| black_box(col.drift("x", &cs, &so).unwrap().score)),
    );
    g.bench_function(
        "mlops standard psi vs stored profile (from Arrow batch)",
        |b| b.iter(|| black_box(profile.drift(&cb, &so).unwrap().share)),
    );
    g.bench_function(
        "baseline: standard psi fitting deciles on the raw reference",
        |b| b.iter(|| black_box(column_drift("x", &rs, &cs, &so).unwrap().score)),
    );
    g.finish();
    let _ = ColumnKind::Numerical;
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpu::new());
    targets = bench
}
criterion_main!(benches);
