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


__all__: List[str] = ["FeatureStore", "FeatureView", "get_historical_features"]


def _us(t: Any) -> int:
    """datetime (naive = UTC) or int µs -> µs since the epoch."""
    import datetime as _dt

    if isinstance(t, int):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return int(t.timestamp() * 1_000_000)


class FeatureStore:
    """A feature store: definitions applied as a whole and versioned on an object store
    (`uri`), point-in-time training sets, and an embedded online store (in memory, or the
    redb file `online_path`) filled by :meth:`materialize`."""

    def __init__(self, uri: str, online_path: Optional[str] = None) -> None:
        self._s = _mlops.FeatureStore(uri, online_path)

    def apply(self, definitions: Any) -> int:
        """Applies definitions (a dict with ``entities``, ``feature_views``,
        ``feature_services``, as in the YAML format); returns the new version."""
        import json

        return self._s.apply_json(json.dumps(definitions))

    def get_historical_features(
        self, entity_df: Any, features: Sequence[str], *, full_feature_names: bool = True
    ) -> pa.Table:
        return self._s.historical(to_table(entity_df), list(features), full_feature_names)

    def materialize(self, views: Sequence[str], start: Any, end: Any) -> dict:
        """Writes the latest row per key with event time in ``[start, end]``; returns rows per view."""
        return dict(self._s.materialize(list(views), _us(start), _us(end)))

    def get_online_features(
        self,
        entity_rows: Any,
        features: Sequence[str],
        *,
        full_feature_names: bool = True,
        now: Any = None,
    ) -> pa.Table:
        """Latest materialized features for the entity rows (nulls for missing/expired keys)."""
        return self._s.online(
            to_table(entity_rows), list(features), full_feature_names, None if now is None else _us(now)
        )
