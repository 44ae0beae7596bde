"""Drift, fairness and performance (mlops-monitor), computed in Rust with the GIL released."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

from . import _mlops
from ._convert import to_array, to_table


def _f(x: Any) -> float:
    """JSON null (Rust NaN) -> float('nan')."""
    return math.nan if x is None else float(x)


@dataclass(frozen=True)
class ColumnDrift:
    """Drift of one column (Evidently 0.7.23 semantics)."""

    column: str
    kind: str
    method: str
    family: str
    score: float
    statistic: Optional[float]
    threshold: float
    operator: Any
    drift: bool
    binning: Any
    n_reference: int
    n_current: int

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "ColumnDrift":
        return cls(
            column=d["column"],
            kind=d["kind"],
            method=d["method"],
            family=d["family"],
            score=_f(d["score"]),
            statistic=None if d.get("statistic") is None else float(d["statistic"]),
            threshold=_f(d["threshold"]),
            operator=d.get("operator"),
            drift=bool(d["drift"]),
            binning=d.get("binning"),
            n_reference=int(d["n_reference"]),
            n_current=int(d["n_current"]),
        )


@dataclass(frozen=True)
class FailedColumn:
    """A column that could not be tested (where Evidently raises), with the reason."""

    column: str
    error: str


@dataclass(frozen=True)
class DatasetDrift:
    """Drift of every column and the dataset verdict (`share >= drift_share`)."""

    columns: List[Any]
    drifted: int
    total: int
    share: float
    drift_share: float
    drift: bool
    by_column: Dict[str, Any] = field(default_factory=dict)


def column_drift(
    reference: Any,
    current: Any,
    *,
    column: str = "value",
    kind: Optional[str] = None,
    method: Optional[str] = None,
    threshold: Optional[float] = None,
    family: str = "evidently",
) -> ColumnDrift:
    """Drift between two samples of one column.

    `reference`/`current`: numpy arrays, pyarrow arrays, pandas Series or lists. `kind` is
    `"numerical"` or `"categorical"` (inferred from the Arrow type when omitted); `method` an
    Evidently id (`"ks"`, `"psi"`, `"wasserstein"`, ...); `None` applies Evidently's default rule.
    """
    raw = _mlops.column_drift_json(
        to_array(reference), to_array(current), column, kind, method, threshold, family
    )
    return ColumnDrift._from(json.loads(raw))


def dataset_drift(
    reference: Any,
    current: Any,
    *,
    columns: Optional[Sequence[str]] = None,
    kinds: Optional[Mapping[str, str]] = None,
    method: Optional[str] = None,
    threshold: Optional[float] = None,
    family: str = "evidently",
    drift_share: float = 0.5,
) -> DatasetDrift:
    """Drift of every column of two tables (pyarrow Tables, pandas DataFrames or dicts)."""
    raw = _mlops.dataset_drift_json(
        to_table(reference),
        to_table(current),
        list(columns) if columns is not None else None,
        dict(kinds) if kinds is not None else None,
        method,
        threshold,
        family,
        drift_share,
    )
    d = json.loads(raw)
    cols: List[Any] = [
        FailedColumn(c["column"], c["error"]) if "error" in c else ColumnDrift._from(c)
        for c in d["columns"]
    ]
    return DatasetDrift(
        columns=cols,
        drifted=int(d["drifted"]),
        total=int(d["total"]),
        share=_f(d["share"]),
        drift_share=_f(d["drift_share"]),
        drift=bool(d["drift"]),
        by_column={c.column: c for c in cols},
    )


def _nan_floats(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _nan_floats(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_nan_floats(v) for v in x]
    return x


def fairness(y_true: Any, y_pred: Any, group: Any) -> Dict[str, Any]:
    """fairlearn-compatible fairness report: `by_group`, `overall`, `between_groups`,
    `to_overall` (disparity metrics) and `notes`. Ratios that are 0/0 are NaN."""
    d = json.loads(_mlops.fairness_json(to_array(y_true), to_array(y_pred), to_array(group)))
    for key in ("between_groups", "to_overall"):
        d[key] = {k: _f(v) for k, v in d[key].items()}
    return d


def _ints(x: Any) -> List[int]:
    return [int(v) for v in to_array(x).to_pylist()]


def _floats(x: Any) -> List[float]:
    return [float(v) for v in to_array(x).to_pylist()]


def classification_metrics(y_true: Any, y_pred: Any, scores: Any = None) -> Dict[str, Any]:
    """Binary classification metrics (scikit-learn): accuracy, precision, recall, f1, roc_auc,
    pr_auc, log_loss, confusion_matrix."""
    return json.loads(
        _mlops.classification_json(
            _ints(y_true), _ints(y_pred), None if scores is None else _floats(scores)
        )
    )


def regression_metrics(y_true: Any, y_pred: Any) -> Dict[str, Any]:
    """Regression metrics (scikit-learn): mae, rmse, mape, r2."""
    return json.loads(_mlops.regression_json(_floats(y_true), _floats(y_pred)))
