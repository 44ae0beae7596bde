#!/usr/bin/env bash
# Tracking peer comparison: MLflow 3.17's Python client (to its default local store,
# sqlite mlflow.db, and to a 1-worker server) versus mlops-tracking on the same
# workload, in the same run, printed side by side as ratios.
#
#   embedded file://  log 100,000 points in batches of 1000   vs  MLflow client -> sqlite (case a)
#   embedded file://  read a 100,000-point history            vs  MLflow client <- sqlite (case e)
#   MlflowTracker     log 100,000 points to the server         vs  raw pre-serialised POSTs (ours and peer case r)
#
# Usage: benches/run-tracking-peer.sh
# Knobs: MLFLOW_TRACKING_URI (reuse a running server; else one is started on
#        MLOPS_PEER_PORT, default 5305), MLOPS_PEER_REPS (default 1), MLOPS_SHARED_DIR.
# Needs: python3, the MLflow venv (~/.peers/mlflow, created by mlflow-server.sh), cargo.
# Cost: one release build of the bench (arrow: ~10 min CPU the first time), then ~3 min.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${MLOPS_SHARED_DIR:-$ROOT/../shared}"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PORT="${MLOPS_PEER_PORT:-5305}"
REPS="${MLOPS_PEER_REPS:-1}"
OUT="$(mktemp -d)"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

started=""
cleanup() { if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; fi; rm -rf "$OUT"; }
trap cleanup EXIT INT TERM
if [ -z "${MLFLOW_TRACKING_URI:-}" ]; then
    eval "$(bash "$SHARED/tools/mlflow-server.sh" "$PORT")"
    started="$MLFLOW_SERVER_PID"
fi
echo "==> MLflow peer (python client), server $MLFLOW_TRACKING_URI + local sqlite, reps $REPS" >&2
python3 "$SHARED/tools/mlflow_peer_bench.py" --tracking-uri "$MLFLOW_TRACKING_URI" \
    --cases a,r,e --reps "$REPS" --json "$OUT/peer.json" >&2

echo "==> mlops-tracking (cargo bench -p benches --bench tracking)" >&2
(cd "$ROOT" && MLOPS_BENCH_MLFLOW_URI="$MLFLOW_TRACKING_URI" CARGO_TARGET_DIR="$TARGET" \
    cargo bench -q -p benches --bench tracking) >&2

python3 - "$OUT/peer.json" "$TARGET/criterion" <<'PY'
import json, statistics, sys, os
peer = json.load(open(sys.argv[1]))["results"]
crit = sys.argv[2]

def ours(name):
    p = os.path.join(crit, "tracking", name, "new", "estimates.json")
    return json.load(open(p))["median"]["point_estimate"] / 1e9

def theirs(target, case):
    xs = peer.get(target, {}).get("times", {}).get(case) or []
    return statistics.median(xs) if xs else float("nan")

rows = [
    ("log 100k pts, batches of 1000: file:// (fsync) vs MLflow->sqlite",
     ours("log_100k_b1000_file_fsync"), theirs("local", "a")),
    ("log 100k pts, batches of 1000: file:// (no fsync) vs MLflow->sqlite",
     ours("log_100k_b1000_file_nofsync"), theirs("local", "a")),
    ("log 100k pts, batches of 1000: file:// (fsync) vs MLflow->server",
     ours("log_100k_b1000_file_fsync"), theirs("server", "a")),
    ("read 100k-pt history: file:// vs MLflow<-sqlite",
     ours("read_100k_history_file"), theirs("local", "e")),
    ("read 100k-pt history: file:// vs MLflow<-server",
     ours("read_100k_history_file"), theirs("server", "e")),
]
print("| workload | mlops-tracking | MLflow 3.17 python client | speed-up |")
print("|---|---|---|---|")
for name, a, b in rows:
    print(f"| {name} | {a*1e3:.1f} ms | {b:.2f} s | {b/a:.0f}x |")
base_put = ours("baseline_store_put_100x_fsync")
print(f"\nbaseline (same run): 100 raw object-store puts with fsync {base_put*1e3:.1f} ms, "
      f"without {ours('baseline_store_put_100x_nofsync')*1e3:.1f} ms; 100 new files + one fsync "
      f"each (std::fs) {ours('baseline_fs_create_fsync_100x')*1e3:.1f} ms; 100 raw gets "
      f"{ours('baseline_store_get_100x')*1e3:.1f} ms; RunLogger 100k log_metric+close "
      f"{ours('runlogger_100k_file')*1e3:.1f} ms")
mf = os.path.join(crit, "tracking-mlflow.json")
if os.path.exists(mf):
    m = json.load(open(mf))
    raw_peer = theirs("server", "r")
    print(f"MlflowTracker log 100k to the server: {m['ours_s']:.2f} s (client cpu {m['ours_cpu_s']:.2f} s) "
          f"vs raw pre-serialised POSTs {m['raw_s']:.2f} s (ratio {m['ours_s']/m['raw_s']:.3f}); "
          f"peer raw (python http.client) {raw_peer:.2f} s, peer client {theirs('server','a'):.2f} s")
PY
