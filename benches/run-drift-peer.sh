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

"${pin[@]}" "$py" "$tool" --part scipy --n "${ns[@]}" --repeat 3 --out "$out"
if "$py" -c "import evidently" 2>/dev/null; then
  "${pin[@]}" "$py" "$tool" --part evidently --n "${ns[@]}" --repeat 3 --out "$out"
  if [ "${PRESET:-0}" = 1 ]; then
    "${pin[@]}" "$py" "$tool" --part preset --n 1000000 --repeat 1 --cols 20 --out "$out"
  fi
else
  echo "# evidently not importable in $venv: skipping the Evidently parts" >&2
fi
"$py" "$tool" --table "$out"
