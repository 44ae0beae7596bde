# Manual cross-check against a live Evidently 0.7.23 (venv with evidently==0.7.23, pandas<3,
# pyarrow): writes 22 random column cases (sizes 2..15000, ints with nulls, NaN/inf, bool,
# strings) with Evidently's default and per-method results to /tmp/monitor_extra/cases, then:
#   python3 ../shared/tools/drift_check.py --bin target/debug/mlops --cases /tmp/monitor_extra/cases
#   python3 mlops-monitor/tests/oracle/check_methods.py target/debug/mlops /tmp/monitor_extra/cases
# Usage: python evidently_random_cases.py SEED
import json, os, sys, math, warnings
warnings.filterwarnings("ignore")
import numpy as np, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
from evidently.legacy.calculations.stattests.registry import get_stattest
from evidently.legacy.core import ColumnType
root = "/tmp/monitor_extra/cases"
os.makedirs(root, exist_ok=True)
rng = np.random.default_rng(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
cases = {}
def add(name, ref, cur, ctype, arrow_type=None):
    d = os.path.join(root, name); os.makedirs(d, exist_ok=True)
    for side, v in (("reference", ref), ("current", cur)):
        arr = pa.array(v, type=arrow_type) if arrow_type is not None else pa.array(v, from_pandas=False)
        pq.write_table(pa.table({"value": arr}), os.path.join(d, side + ".parquet"))
    ft = ColumnType.Numerical if ctype == "numerical" else ColumnType.Categorical
    def clean(v):
        s = pd.Series([x for x in v], dtype=object if ctype == "categorical" else None)
        if ctype == "numerical":
            s = pd.Series(v, dtype="float64") if any(x is None for x in v) else pd.Series(v)
            s = s.replace([np.inf, -np.inf], np.nan)
        return s.dropna()
    r, c = clean(ref), clean(cur)
    if ctype == "categorical" and arrow_type == pa.bool_():
        r, c = r.astype(bool), c.astype(bool)
    out = {"column_type": ctype, "evidently": {"methods": {}}}
    try:
        st = get_stattest(r, c, ft, None)
        res = st(r, c, ft, None)
        out["evidently"]["default"] = {"method": st.name, "score": float(res.drift_score), "drift": bool(res.drifted), "threshold": res.actual_threshold}
    except Exception as e:
        out["evidently"]["default"] = {"error": f"{type(e).__name__}: {e}"}
    meths = ["psi","kl_div","jensenshannon","hellinger"] + (["wasserstein","ks","anderson","cramer_von_mises","ed"] if ctype=="numerical" else ["chisquare","z","fisher_exact"])
    for m in meths:
        try:
            st = get_stattest(r, c, ft, m)
            res = st(r, c, ft, None)
            sc = float(res.drift_score)
            out["evidently"]["methods"][m] = {"score": "NaN" if math.isnan(sc) else sc, "drift": bool(res.drifted), "threshold": res.actual_threshold}
        except Exception as e:
            out["evidently"]["methods"][m] = {"error": f"{type(e).__name__}: {e}"}
    if out["evidently"]["default"].get("score") is not None and math.isnan(out["evidently"]["default"]["score"]):
        out["evidently"]["default"]["score"] = "NaN"
    cases[name] = out
N = lambda n, m=0, s=1: rng.normal(m, s, n).tolist()
for i, (n1, n2) in enumerate([(7, 9), (12, 12), (30, 45), (400, 350), (999, 1001), (1001, 800), (1500, 15000), (200, 12000), (6000, 5000)]):
    add(f"num_{i}_{n1}_{n2}", N(n1), N(n2, rng.uniform(0, 0.4), rng.uniform(0.8, 1.3)), "numerical")
add("num_ints_nulls", [int(x) if x % 7 else None for x in rng.integers(0, 50, 900)], [int(x) if x % 5 else None for x in rng.integers(0, 55, 800)], "numerical", pa.int64())
add("num_ints_small", rng.integers(0, 4, 600).tolist(), rng.integers(0, 5, 500).tolist(), "numerical", pa.int64())
add("num_ints_big", rng.integers(0, 30, 3000).tolist(), rng.integers(2, 31, 2000).tolist(), "numerical", pa.int64())
add("num_round", np.round(rng.normal(0, 1, 2000), 1).tolist(), np.round(rng.normal(0.1, 1, 2500), 1).tolist(), "numerical")
add("num_mixed_nan", [x if i % 9 else float("nan") for i, x in enumerate(N(700))], [x if i % 11 else float("inf") for i, x in enumerate(N(650, 0.2))], "numerical")
add("num_two_vals_big", rng.integers(0, 2, 2000).astype(float).tolist(), rng.integers(0, 2, 1800).astype(float).tolist(), "numerical")
add("num_n2", [1.0, 2.0], [1.5, 3.0], "numerical")
add("num_n3", [1.0, 2.0, 2.0], [1.5, 3.0, 3.0], "numerical")
cats = list("abcdefg")
add("cat_7", rng.choice(cats, 800).tolist(), rng.choice(cats, 700, p=[.2,.2,.1,.1,.1,.2,.1]).tolist(), "categorical")
add("cat_big", rng.choice(cats[:4], 3000).tolist(), rng.choice(cats[:5], 2000).tolist(), "categorical")
add("cat_bin_eq", rng.choice(["x","y"], 250).tolist(), rng.choice(["x","y"], 250, p=[.6,.4]).tolist(), "categorical")
add("cat_bool_neq", rng.integers(0,2,300).astype(bool).tolist(), rng.integers(0,2,260).astype(bool).tolist(), "categorical", pa.bool_())
add("cat_nulls2", [None if i % 6 == 0 else c for i, c in enumerate(rng.choice(cats[:3], 900))], [None if i % 4 == 0 else c for i, c in enumerate(rng.choice(cats[:3], 880))], "categorical")
json.dump({"columns": cases}, open(os.path.join(root, "expected.json"), "w"), indent=1)
print(len(cases))
