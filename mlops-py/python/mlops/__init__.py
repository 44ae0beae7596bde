"""mlops: Python bindings of mlops-rs (a Rust SDK of MLOps primitives).

Errors: every failure raises a subclass of :class:`MlopsError`, one per error kind.
"""

from __future__ import annotations

from . import _mlops
from ._mlops import (
    AlreadyExistsError,
    BackendError,
    ConflictError,
    IntegrityError,
    InvalidArgumentError,
    MlopsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TimeoutError,
    UnauthenticatedError,
    UnavailableError,
    UnsupportedError,
)
from .features import FeatureStore, FeatureView, get_historical_features
from .governance import AuditLog, Policy
from .registry import Principal, PromotionRequest, Registry, gate_report
from .tracking import ActiveRun, BackgroundLogger, Tracker
from .monitor import (
    ColumnDrift,
    DatasetDrift,
    FailedColumn,
    classification_metrics,
    column_drift,
    dataset_drift,
    fairness,
    regression_metrics,
)

__version__: str = _mlops.__version__

__all__ = [
    "AuditLog",
    "Policy",
    "ActiveRun",
    "BackgroundLogger",
    "Tracker",
    "AlreadyExistsError",
    "BackendError",
    "ColumnDrift",
    "ConflictError",
    "DatasetDrift",
    "FailedColumn",
    "FeatureStore",
    "FeatureView",
    "IntegrityError",
    "InvalidArgumentError",
    "MlopsError",
    "NotFoundError",
    "PermissionDeniedError",
    "Principal",
    "PromotionRequest",
    "RateLimitedError",
    "Registry",
    "TimeoutError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnsupportedError",
    "classification_metrics",
    "column_drift",
    "dataset_drift",
    "fairness",
    "gate_report",
    "get_historical_features",
    "regression_metrics",
]
