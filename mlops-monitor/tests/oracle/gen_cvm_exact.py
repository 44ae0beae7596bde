# Generator of evidently_cvm_exact.json: Evidently 0.7.23's vendored exact two-sample CvM
# (evidently/legacy/calculations/stattests/cramer_von_mises_stattest.py, reproduced verbatim
# below for the exact path) on random small samples; "p": null where it raises.
# Run with numpy 2.x and scipy: python gen_cvm_exact.py
import math, json, numpy as np
from scipy.stats import rankdata
def _pval_cvm_2samp_exact(s, m, n):
    lcm = np.lcm(m, n); a = lcm // m; b = lcm // n; mn = m * n
    zeta = lcm**2 * (m + n) * (6 * s - mn * (4 * mn - 1)) // (6 * mn**2)
    zeta_bound = lcm**2 * (m + n)
    combinations = math.factorial(m + n) / (math.factorial(m) * math.factorial(n))
    max_gs = max(zeta_bound, combinations)
    dtype = np.min_scalar_type(max_gs)
    gs = [np.array([[0], [1]], dtype=dtype)] + [np.empty((2, 0), dtype=dtype) for _ in range(m)]
    for u in range(n + 1):
        next_gs = []
        tmp = np.empty((2, 0), dtype=dtype)
        for v, g in enumerate(gs):
            vi, i0, i1 = np.intersect1d(tmp[0], g[0], return_indices=True)
            tmp = np.concatenate([np.stack([vi, tmp[1, i0] + g[1, i1]]), np.delete(tmp, i0, 1), np.delete(g, i1, 1)], 1)
            tmp[0] += (a * v - b * u) ** 2
            next_gs.append(tmp)
        gs = next_gs
    value, freq = gs[m]
    return np.float64(np.sum(freq[value >= zeta]) / combinations)
def cvm(x, y):
    xa = np.sort(x); ya = np.sort(y); nx, ny = len(xa), len(ya)
    r = rankdata(np.concatenate([xa, ya]), method="average")
    u = nx * np.sum((r[:nx] - np.arange(1, nx + 1)) ** 2) + ny * np.sum((r[nx:] - np.arange(1, ny + 1)) ** 2)
    return _pval_cvm_2samp_exact(u, nx, ny)
rng = np.random.default_rng(7)
out = []
for m, n in [(5,5),(4,6),(7,7),(3,9),(10,10),(12,9),(15,15),(20,20),(20,13),(2,2),(6,5),(8,8),(19,20)]:
    for rep in range(3):
        x = rng.normal(0, 1, m); y = rng.normal(rng.uniform(0, 1.5), 1, n)
        if rep == 2: x = np.round(x); y = np.round(y)
        try:
            p = float(cvm(x, y))
        except Exception as e:
            p = None
        out.append({"x": x.tolist(), "y": y.tolist(), "p": p})
json.dump(out, open("cases.json", "w"))
print(len(out))
