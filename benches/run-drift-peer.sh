#!/usr/bin/env bash
# Peer timings for benches/benches/drift*.rs: scipy/numpy (ks_2samp, wasserstein_distance,
# numpy decile PSI), Evidently stattests (psi, ks, wasserstein) and, optionally,
# Report([DataDriftPreset()]) on 20 float64 columns x 1M rows — on one core, same distributions
# (reference N(0,1), current N(0.1,1.1)), through ../shared/tools/drift_bench.py.
#
#   benches/run-drift-peer.sh [VENV] [N ...]
#
# VENV: a python venv with numpy and scipy (and evidently==0.7.23 with pandas<3 for the
# Evidently parts; without it those parts are skipped). Default: ./.venv. N default: 10000000.
# PRESET=1 also runs the 20-column DataDriftPreset (about 2 minutes of CPU, 2.2 GiB).
# Results are appended to $OUT (default target/drift-peer.jsonl) and printed as a table.
# PARTS (default "scipy evidently") picks the peer parts to run (e.g. PARTS=scipy to rerun
# only scipy/numpy, whose figures the Evidently part does not change).
# RUST=1 then runs `cargo bench -p benches --bench drift` pinned to the same core (DRIFT_BENCH_N
# = the first N) and prints ours vs peer as ratios of CPU time (the peers' process_time
# medians of this run vs criterion's median of the thread CPU time), with `uptime`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$here/.venv}"
shift || true
ns=("${@:-10000000}")
py="$venv/bin/python"
tool="$here/../shared/tools/drift_bench.py"
[ -f "$tool" ] || tool=/work/shared/tools/drift_bench.py
out="${OUT:-$here/target/drift-peer.jsonl}"
mkdir -p "$(dirname "$out")"
pin=(taskset -c 0)
command -v taskset >/dev/null || pin=()
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

parts="${PARTS:-scipy evidently}"
if [[ " $parts " == *" scipy "* ]]; then
  "${pin[@]}" "$py" "$tool" --part scipy --n "${ns[@]}" --repeat 3 --out "$out"
fi
if [[ " $parts " != *" evidently "* ]]; then
  :
elif "$py" -c "import evidently" 2>/dev/null; then
  "${pin[@]}" "$py" "$tool" --part evidently --n "${ns[@]}" --repeat 3 --out "$out"
  if [ "${PRESET:-0}" = 1 ]; then
    "${pin[@]}" "$py" "$tool" --part preset --n 1000000 --repeat 1 --cols 20 --out "$out"
  fi
else
  echo "# evidently not importable in $venv: skipping the Evidently parts" >&2
fi
"$py" "$tool" --table "$out"

if [ "${RUST:-0}" = 1 ]; then
  uptime
  start_rec=$(wc -l <"$out")
  target="${CARGO_TARGET_DIR:-$here/target}"
  (cd "$here" && DRIFT_BENCH_N="${ns[0]}" "${pin[@]}" cargo bench -p benches --bench drift -- --noplot)
  uptime
  "$py" - "$out" "$target/criterion" "${ns[0]}" <<'PY'
import glob, json, os, sys
out, crit, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
peer = {}
for line in open(out):
    r = json.loads(line)
    if r.get("n") == n and r.get("cpu_median_s") is not None:
        peer[r["case"]] = r["cpu_median_s"]  # the latest run of each case
ours = {}
for f in glob.glob(os.path.join(crit, "*", "*", "new", "benchmark.json")):
    b = json.load(open(f))
    if b.get("group_id") != f"drift_{n}+{n}":
        continue
    est = json.load(open(os.path.join(os.path.dirname(f), "estimates.json")))
    ours[b["function_id"]] = est["median"]["point_estimate"] / 1e9
pairs = [
    ("mlops ks", "scipy.stats.ks_2samp", 8),
    ("mlops wasserstein (normed)", "scipy.stats.wasserstein_distance", 8),
    ("mlops standard psi vs stored profile (current Sample)", "numpy PSI 10 reference-quantile bins", 30),
    ("mlops standard psi vs stored profile (from Arrow batch)", "numpy PSI 10 reference-quantile bins", 30),
    ("mlops evidently psi (sturges over ref+cur)", "evidently psi", 30),
]
print(f"| ours (CPU s) | peer (CPU s) | ratio | target |")
print("|---|---|---|---|")
for o, p, t in pairs:
    if o in ours and p in peer:
        print(f"| {o}: {ours[o]:.4f} | {p}: {peer[p]:.4f} | {peer[p] / ours[o]:.1f}x | >= {t}x |")
PY
fi
