#!/usr/bin/env python3
"""Drift on 10M + 10M float64 numpy arrays from Python vs the same call from Rust, one run.

Python: ``mlops.column_drift(reference, current)`` on numpy arrays (numpy -> pyarrow -> Rust
through the Arrow C data interface, no copy; the GIL released around the compute).
Rust: ``benches/benches/drift_py.rs`` runs what the binding runs once the arrays are in Rust
(``Sample::from_arrow`` on both sides, then ``column_drift`` with Evidently's defaults) on the
same samples, read from ``.npy`` files this script writes. Only the call is timed on each side.
The two are run alternately (``--rounds``), and the ratio of the medians and of the minimums
is printed (wall time, and thread CPU time, which a loaded machine disturbs far less); the
target is <= 1.1. Both reports must agree (method, score, verdict).

Needs a *release* build of the module in the running interpreter's environment
(``maturin develop --release``) and of the bench (built here with ``cargo bench --no-run``;
``CARGO_TARGET_DIR`` is honoured)::

    ~/.peers/mlops-py-rel/bin/python mlops-py/bench/drift_bench.py [--n 10000000] [--rounds 3] [--repeat 3]

``--pin CPU`` runs both sides on one core (``taskset``), which quiets a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import mlops

ROOT = pathlib.Path(__file__).resolve().parents[2]


def rust_bench_binary() -> str:
    """Builds the bench (release profile) and returns its executable."""
    out = subprocess.run(
        ["cargo", "bench", "-p", "benches", "--bench", "drift_py", "--no-run", "--message-format=json"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    ).stdout
    exes = [
        m["executable"]
        for m in map(json.loads, out.splitlines())
        if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "drift_py"
    ]
    if not exes:
        sys.exit("cargo did not report the drift_py bench executable")
    return exes[-1]


def run_rust(exe: str, ref: pathlib.Path, cur: pathlib.Path, repeat: int, pin: list) -> dict:
    env = dict(os.environ, DRIFT_PY_REF=str(ref), DRIFT_PY_CUR=str(cur), DRIFT_PY_REPEAT=str(repeat))
    out = subprocess.run(pin + [exe], env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def thread_cpu_seconds() -> float:
    """CPU seconds of this thread, read like the Rust side reads its own
    (``/proc/thread-self/stat`` utime + stime, 100 Hz ticks), so both use one clock."""
    with open("/proc/thread-self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def run_python(ref: np.ndarray, cur: np.ndarray, repeat: int) -> tuple:
    seconds, cpu_seconds = [], []
    d = None
    for _ in range(repeat):
        t, c = time.perf_counter(), thread_cpu_seconds()
        d = mlops.column_drift(ref, cur)
        seconds.append(time.perf_counter() - t)
        cpu_seconds.append(thread_cpu_seconds() - c)
    return seconds, cpu_seconds, d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000_000, help="elements per side")
    ap.add_argument("--rounds", type=int, default=3, help="alternating Rust/Python rounds")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls per side per round")
    ap.add_argument("--rust-bin", help="the drift_py bench executable (default: build it)")
    ap.add_argument("--pin", help="run both sides on this CPU (taskset -c CPU)")
    args = ap.parse_args()

    if args.pin:
        os.sched_setaffinity(0, {int(args.pin)})
    pin = ["taskset", "-c", args.pin] if args.pin else []
    exe = args.rust_bin or rust_bench_binary()

    rng = np.random.default_rng(42)
    ref = rng.normal(0.0, 1.0, args.n)
    cur = rng.normal(0.1, 1.1, args.n)
    assert ref.dtype == np.float64 and ref.flags.c_contiguous

    # the numpy buffer is what Rust reads: no copy on the way in
    from mlops._convert import to_array

    assert mlops._mlops._imported_buffer_addresses(to_array(ref)) == [None, ref.ctypes.data]

    # what the binding adds around the Rust call: numpy -> pyarrow -> Arrow C data interface
    # -> Rust (both sides), measured alone
    boundary = []
    for _ in range(20):
        t = time.perf_counter()
        mlops._mlops._imported_buffer_addresses(to_array(ref))
        mlops._mlops._imported_buffer_addresses(to_array(cur))
        boundary.append(time.perf_counter() - t)

    py_s: list = []
    rs_s: list = []
    py_cpu: list = []
    rs_cpu: list = []
    with tempfile.TemporaryDirectory() as tmp:
        rp, cp = pathlib.Path(tmp, "reference.npy"), pathlib.Path(tmp, "current.npy")
        np.save(rp, ref)
        np.save(cp, cur)
        run_python(ref[:1000], cur[:1000], 1)  # warm-up: imports, the module's first call
        for _ in range(args.rounds):
            r = run_rust(exe, rp, cp, args.repeat, pin)
            rs_s += r["seconds"]
            rs_cpu += r["cpu_seconds"]
            s, c, d = run_python(ref, cur, args.repeat)
            py_s += s
            py_cpu += c
            assert d.method == r["method"], (d.method, r["method"])
            assert d.drift == r["drift"] and d.score == r["score"], (d, r)

    py_med, rs_med = statistics.median(py_s), statistics.median(rs_s)
    py_min, rs_min = min(py_s), min(rs_s)
    py_cpu_med, rs_cpu_med = statistics.median(py_cpu), statistics.median(rs_cpu)
    result = {
        "n": args.n,
        "method": d.method,
        "score": d.score,
        "python_seconds": py_s,
        "rust_seconds": rs_s,
        "python_cpu_seconds": py_cpu,
        "rust_cpu_seconds": rs_cpu,
        "ratio_median": py_med / rs_med,
        "ratio_cpu_median": py_cpu_med / rs_cpu_med,
        "ratio_min": py_min / rs_min,
        "boundary_seconds_median": statistics.median(boundary),
        "loadavg": os.getloadavg(),
        "pinned": args.pin,
    }
    print(json.dumps(result))
    print(
        f"drift {args.n:,} + {args.n:,} float64 ({d.method}): "
        f"python median {py_med:.3f}s (min {py_min:.3f}s) vs rust median {rs_med:.3f}s (min {rs_min:.3f}s) "
        f"= ratio {py_med / rs_med:.3f} median, {py_min / rs_min:.3f} min (target <= 1.1); "
        f"thread CPU python {py_cpu_med:.3f}s vs rust {rs_cpu_med:.3f}s = ratio {py_cpu_med / rs_cpu_med:.3f}; "
        f"numpy->Rust boundary {statistics.median(boundary) * 1e6:.0f} µs for both arrays; "
        f"loadavg {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
