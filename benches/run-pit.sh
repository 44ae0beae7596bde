#!/usr/bin/env bash
# PIT training sets: `mlops features historical` (release) against DuckDB's ASOF reference
# (`shared/tools/pit_duckdb.py --method asof`) on the same generated files, as whole
# processes under /usr/bin/time -v (wall time and peak RSS), engines interleaved rep by rep.
# Each of our outputs is also checked against DuckDB's (pit_check.py).
#
#   benches/run-pit.sh [WORK_DIR] [CASES] [REPS]
#     WORK_DIR  where cases are generated (default /tmp/pitbench)
#     CASES     comma list of: a (100k x 1M x 1 view), k (skew: 10 keys), c (100k x 1M x 4 views),
#               b (1M x 10M x 1 view)   default: a,k
#     REPS      runs per engine (default 3)
# Needs: python3 with pyarrow, numpy, duckdb ($PYTHON, default .venv/bin/python), and
#        `cargo build --release -p mlops-cli` (binary at $CARGO_TARGET_DIR/release/mlops).
# Optional peer: Feast's default `file` (Dask) offline store, when FEAST_PY names the python of
#        a venv with feast (`python3 -m venv ~/.peers/feast && ~/.peers/feast/bin/pip install
#        feast==0.67.0 duckdb==2.0.1 pyarrow==26.0.1 pandas==2.3.3`). It runs
#        shared/tools/pit_feast.py FEAST_REPS times per case (default 1: a run of case a takes
#        ~35 s, c ~100 s). Its row is whole-process wall/RSS; "feast retrieval s" is Feast's own
#        in-process time for reading + get_historical_features + to_df() (imports and apply
#        excluded), and the speedup compares that with our whole process (target >= 50x).
#        Case b needs ~15 GiB for Feast: skipped unless MemAvailable >= 18 GiB (FEAST_B=force
#        runs it anyway). Case k makes Feast fail (a 78 GiB allocation): reported as failed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${TOOLS:-$HERE/../shared/tools}
WORK=${1:-/tmp/pitbench}
CASES=${2:-a,k}
REPS=${3:-3}
PYTHON=${PYTHON:-$HERE/.venv/bin/python}
BIN=${BIN:-${CARGO_TARGET_DIR:-$HERE/target}/release/mlops}
mkdir -p "$WORK"

gen() { # case -> generator args (as in shared/tools/pit_bench.py, seed 42, ttl 6 h)
  case $1 in
    a) echo "--entities 10000 --entity-rows 100000 --feature-rows 1000000 --views 1" ;;
    k) echo "--entities 10 --entity-rows 100000 --feature-rows 1000000 --views 1" ;;
    c) echo "--entities 10000 --entity-rows 100000 --feature-rows 1000000 --views 4" ;;
    b) echo "--entities 100000 --entity-rows 1000000 --feature-rows 10000000 --views 1" ;;
    *) echo "unknown case $1" >&2; exit 2 ;;
  esac
}

ours_cmd() { # dir out -> our command line, from case.json
  "$PYTHON" - "$1" "$2" "$BIN" <<'PY'
import json, os, sys, shlex
d, out, bin_ = sys.argv[1:4]
c = json.load(open(os.path.join(d, "case.json")))
cmd = [bin_, "features", "historical", "--entity-df", os.path.join(d, c["entity_df"])]
feats = []
for v in c["views"]:
    cmd += ["--view", f'{v["name"]}={os.path.join(d, v["path"])},ttl={int(v["ttl_seconds"])},join_keys={"+".join(v["join_keys"])},timestamp={v["timestamp_field"]},created={v["created_timestamp_column"]}']
    feats += [f'{v["name"]}:{f["name"]}' for f in v["features"]]
cmd += ["--features", ",".join(feats), "--out", out, "--full-feature-names"]
print(shlex.join(cmd))
PY
}

measure() { # cmd... -> "wall_s rss_mib cpu_s"
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { echo "FAILED: $*" >&2; tail -5 "$log" >&2; rm -f "$log"; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; w=s}
              /Maximum resident set size/ {r=$2/1024}
              /User time \(seconds\)/ {u=$2} /System time \(seconds\)/ {y=$2}
              END {printf "%.3f %.0f %.2f\n", w, r, u+y}' "$log"
  rm -f "$log"
}

measure_out() { # stdout-file cmd... -> "wall_s rss_mib cpu_s" (the command's stdout kept in the file)
  local out=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >"$out" 2>"$log" || { echo "FAILED: $*" >&2; grep -E "Error|error" "$log" | tail -2 >&2; rm -f "$log"; return 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; w=s}
              /Maximum resident set size/ {r=$2/1024}
              /User time \(seconds\)/ {u=$2} /System time \(seconds\)/ {y=$2}
              END {printf "%.3f %.0f %.2f\n", w, r, u+y}' "$log"
  rm -f "$log"
}

feast_ok() { # case -> 0 when Feast should run on it
  [ -n "${FEAST_PY:-}" ] || return 1
  if [ "$1" = b ] && [ "${FEAST_B:-}" != force ]; then
    local avail; avail=$(awk '/MemAvailable/ {print int($2/1048576)}' /proc/meminfo)
    if [ "$avail" -lt 18 ]; then
      echo "  [b] Feast skipped: MemAvailable ${avail} GiB < 18 GiB (Feast needs ~15 GiB here)" >&2
      return 1
    fi
  fi
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "| case | engine | wall s (median of $REPS) | peak RSS MiB (median) | CPU s (median) |"
echo "|---|---|---|---|---|"
for c in ${CASES//,/ }; do
  d="$WORK/$c"
  if [ ! -f "$d/case.json" ]; then
    # shellcheck disable=SC2046
    "$PYTHON" "$TOOLS/pit_gen.py" $(gen "$c") --seed 42 --out "$d" >/dev/null
  fi
  [ -f "$d/expected.parquet" ] || "$PYTHON" "$TOOLS/pit_duckdb.py" --data "$d" --out "$d/expected.parquet" >/dev/null
  "$PYTHON" "$TOOLS/pit_check.py" --bin "$BIN" --cases "$d" | tail -1 | sed "s/^/  [$c] check vs DuckDB: /" >&2
  ours=$(ours_cmd "$d" "$WORK/$c.ours.parquet")
  : > "$WORK/$c.ours.t"; : > "$WORK/$c.duck.t"; : > "$WORK/$c.feast.t"; : > "$WORK/$c.feast.r"; rm -f "$WORK/$c.feast.failed"
  for rep in $(seq "$REPS"); do
    # shellcheck disable=SC2086
    eval measure $ours >> "$WORK/$c.ours.t"
    measure "$PYTHON" "$TOOLS/pit_duckdb.py" --method asof --data "$d" --out "$WORK/$c.duck.parquet" >> "$WORK/$c.duck.t"
    if [ "$rep" -le "${FEAST_REPS:-1}" ] && feast_ok "$c"; then
      if measure_out "$WORK/$c.feast.json" "$FEAST_PY" "$TOOLS/pit_feast.py" --data "$d" >> "$WORK/$c.feast.t"; then
        "$PYTHON" -c 'import json,sys; j=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(j["retrieval_s"], j["retrieval_cpu_s"])' \
          "$WORK/$c.feast.json" >> "$WORK/$c.feast.r"
      else
        echo "  [$c] Feast failed (see above)" >&2; touch "$WORK/$c.feast.failed"
      fi
    fi
  done
  ow=$(cut -d' ' -f1 "$WORK/$c.ours.t" | median); orss=$(cut -d' ' -f2 "$WORK/$c.ours.t" | median); ocpu=$(cut -d' ' -f3 "$WORK/$c.ours.t" | median)
  dw=$(cut -d' ' -f1 "$WORK/$c.duck.t" | median); drss=$(cut -d' ' -f2 "$WORK/$c.duck.t" | median); dcpu=$(cut -d' ' -f3 "$WORK/$c.duck.t" | median)
  echo "| $c | mlops (release) | $ow | $orss | $ocpu |"
  echo "| $c | DuckDB asof (python process) | $dw | $drss | $dcpu |"
  awk -v ow="$ow" -v dw="$dw" -v orss="$orss" -v drss="$drss" -v oc="$ocpu" -v dc="$dcpu" -v c="$c" \
    'BEGIN {printf "| %s | ratio mlops/DuckDB | %.2f | %.2f | %.2f |\n", c, ow/dw, orss/drss, oc/dc}'
  if [ -s "$WORK/$c.feast.r" ]; then
    fw=$(cut -d' ' -f1 "$WORK/$c.feast.t" | median); frss=$(cut -d' ' -f2 "$WORK/$c.feast.t" | median); fcpu=$(cut -d' ' -f3 "$WORK/$c.feast.t" | median)
    fr=$(cut -d' ' -f1 "$WORK/$c.feast.r" | median); frc=$(cut -d' ' -f2 "$WORK/$c.feast.r" | median)
    echo "| $c | Feast file store (python process) | $fw | $frss | $fcpu |"
    echo "| $c | Feast retrieval only (in-process) | $fr | | $frc |"
    awk -v ow="$ow" -v fr="$fr" -v oc="$ocpu" -v frc="$frc" -v c="$c" \
      'BEGIN {printf "| %s | speedup: Feast retrieval / mlops whole process (target >= 50x) | %.1fx | | %.1fx |\n", c, fr/ow, frc/oc}'
  elif [ -e "$WORK/$c.feast.failed" ]; then
    echo "| $c | Feast file store (python process) | failed | | |"
  fi
done
