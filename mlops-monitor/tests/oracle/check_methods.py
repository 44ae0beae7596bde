# Compares `mlops monitor drift --method M` with every per-method result of evidently_random_cases.py.
import json, math, os, subprocess, sys
bin_, root = sys.argv[1], sys.argv[2]
exp = json.load(open(os.path.join(root, "expected.json")))
PV = {"ks","chisquare","z","anderson","cramer_von_mises","fisher_exact"}
def num(x):
    return {"NaN": math.nan}.get(x, x) if isinstance(x, str) else float(x)
bad = tot = 0
for case, body in sorted(exp["columns"].items()):
    d = os.path.join(root, case)
    for fam_method, want in body["evidently"]["methods"].items():
        tot += 1
        cmd = [bin_, "monitor", "drift", "--reference", f"{d}/reference.parquet", "--current", f"{d}/current.parquet",
               "--format", "json", f"--{body['column_type']}", "value", "--method", fam_method]
        r = subprocess.run(cmd, capture_output=True, text=True)
        try:
            col = json.loads(r.stdout)["columns"][0]
        except Exception:
            print(case, fam_method, "no json", r.stderr[-200:]); bad += 1; continue
        if "error" in want:
            if "error" not in col:
                print(case, fam_method, "expected error", want["error"][:80], "got", col.get("score")); bad += 1
            continue
        if "error" in col:
            print(case, fam_method, "got error", col["error"][:100], "want", want); bad += 1; continue
        g, e = num(col["score"]), num(want["score"])
        tol = 1e-6 if fam_method in PV else 1e-9
        same = fam_method == "anderson" or (math.isnan(g) and math.isnan(e)) or abs(g - e) <= tol * abs(e) or abs(g - e) <= 1e-12
        if not same or col["drift"] != want["drift"]:
            print(case, fam_method, "got", g, col["drift"], "want", e, want["drift"]); bad += 1
print(f"methods: {tot - bad}/{tot}")
