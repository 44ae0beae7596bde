#!/usr/bin/env python3
"""Generates perf_sklearn.json: scikit-learn reference values for mlops-monitor's performance
metrics. Run once with scikit-learn installed (python -m venv .venv && .venv/bin/pip install
scikit-learn) from this directory: `python gen_perf.py`. The output is committed so CI needs no
scikit-learn."""
import json
import numpy as np
import sklearn
from sklearn import metrics as m

rng = np.random.default_rng(20240601)


def clf_case(name, y_true, y_score, threshold=0.5):
    y_true = np.asarray(y_true, dtype=np.int64)
    y_score = np.asarray(y_score, dtype=np.float64)
    y_pred = (y_score >= threshold).astype(np.int64)
    out = {"y_true": y_true.tolist(), "y_score": y_score.tolist(), "y_pred": y_pred.tolist()}
    out["accuracy"] = m.accuracy_score(y_true, y_pred)
    out["precision"] = m.precision_score(y_true, y_pred, zero_division=0)
    out["recall"] = m.recall_score(y_true, y_pred, zero_division=0)
    out["f1"] = m.f1_score(y_true, y_pred, zero_division=0)
    out["confusion_matrix"] = m.confusion_matrix(y_true, y_pred, labels=[0, 1]).tolist()
    out["log_loss"] = m.log_loss(y_true, y_score, labels=[0, 1])
    out["roc_auc"] = float(m.roc_auc_score(y_true, y_score))  # NaN (warning) for one class
    out["pr_auc"] = m.average_precision_score(y_true, y_score)
    return name, out


def reg_case(name, y_true, y_pred):
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    return name, {
        "y_true": y_true.tolist(), "y_pred": y_pred.tolist(),
        "mae": m.mean_absolute_error(y_true, y_pred),
        "rmse": float(np.sqrt(m.mean_squared_error(y_true, y_pred))),
        "root_mean_squared_error": m.root_mean_squared_error(y_true, y_pred),
        "mape": m.mean_absolute_percentage_error(y_true, y_pred),
        "r2": m.r2_score(y_true, y_pred),
    }


y = rng.integers(0, 2, 500)
s = np.clip(0.35 * y + rng.normal(0.35, 0.2, 500), 0, 1)
cases = dict([
    clf_case("clf_random", y, s),
    clf_case("clf_ties", rng.integers(0, 2, 300), np.round(rng.uniform(0, 1, 300), 1)),
    clf_case("clf_perfect", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]),
    clf_case("clf_no_predicted_positive", [0, 1, 1, 0, 1], [0.1, 0.2, 0.3, 0.4, 0.45]),
    clf_case("clf_extreme_scores", [0, 1, 1, 0], [0.0, 1.0, 0.0, 1.0]),
    clf_case("clf_single_class", [1, 1, 1], [0.2, 0.7, 0.9]),
])
yt = rng.normal(10, 3, 400)
cases.update(dict([
    reg_case("reg_random", yt, yt + rng.normal(0.5, 1.5, 400)),
    reg_case("reg_with_zero_target", [0.0, 1.0, 2.0, 3.0], [0.5, 1.0, 2.5, 2.0]),
    reg_case("reg_constant_target_perfect", [2.0, 2.0, 2.0], [2.0, 2.0, 2.0]),
    reg_case("reg_constant_target", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0]),
]))
def finite(x):
    """Non-finite floats as the strings NaN / Infinity / -Infinity (as the drift oracle)."""
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [finite(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return "NaN" if np.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return float(x) if isinstance(x, (np.floating,)) else x


json.dump(finite({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}),
          open("perf_sklearn.json", "w"), separators=(",", ":"))
print(len(cases), "cases")
