"""numpy / pandas / Python sequences -> pyarrow, without copying where pyarrow can avoid it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def to_array(values: Any) -> pa.Array:
    """A pyarrow Array from a pyarrow Array/ChunkedArray, numpy array, pandas Series or list."""
    if isinstance(values, pa.Array):
        return values
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    mod = type(values).__module__
    if mod.startswith("pandas"):
        return pa.Array.from_pandas(values)
    # numpy arrays of primitive types are wrapped without a copy
    return pa.array(values)


def to_table(data: Any) -> pa.Table:
    """A pyarrow Table from a Table, RecordBatch, pandas DataFrame or a dict of columns."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, dict):
        return pa.table({k: to_array(v) for k, v in data.items()})
    raise TypeError(f"expected a pyarrow Table, RecordBatch, pandas DataFrame or dict, not {type(data).__name__}")
