"""Feature store (mlops-features): point-in-time correct training sets.

`get_historical_features` takes the entity rows as a pyarrow Table (or a pandas DataFrame,
converted with ``pyarrow.Table.from_pandas``) and returns a pyarrow Table whose buffers were
built in Rust and handed over through the Arrow C stream interface, without a copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence, Union

import pyarrow as pa

from . import _mlops
from ._convert import to_table


@dataclass(frozen=True)
class FeatureView:
    """A feature view over a Parquet source (a local path, a ``file://``/``s3://`` URL of one
    ``.parquet`` object, or a prefix). `ttl` in seconds, 0 = unlimited (inclusive)."""

    name: str
    source: Union[str, os.PathLike]
    join_keys: Optional[Sequence[str]] = None
    timestamp_field: str = "event_timestamp"
    created_field: Optional[str] = "created"
    ttl: float = 0.0

    def _spec(self) -> tuple:
        return (
            self.name,
            os.fspath(self.source),
            list(self.join_keys) if self.join_keys is not None else None,
            self.timestamp_field,
            self.created_field,
            float(self.ttl),
        )


def get_historical_features(
    entity_df: Any,
    views: Sequence[FeatureView],
    features: Sequence[str],
    *,
    full_feature_names: bool = True,
    entity_timestamp: Optional[str] = None,
) -> pa.Table:
    """Point-in-time join (Feast's semantics): one output row per entity row, in entity order;
    per feature the value of the latest view row with event time <= the entity time, within
    the view's ttl; ties go to the latest created time. `features` are ``"view:feature"``."""
    return _mlops.historical_features(
        to_table(entity_df),
        [v._spec() for v in views],
        list(features),
        full_feature_names,
        entity_timestamp,
    )


__all__: List[str] = ["FeatureView", "get_historical_features"]
