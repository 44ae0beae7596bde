import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlops


@pytest.fixture(scope="module")
def pit(testdata):
    d = testdata / "pit"
    case = json.loads((d / "case.json").read_text())
    views = [
        mlops.FeatureView(
            name=v["name"],
            source=d / v["path"],
            join_keys=v["join_keys"],
            timestamp_field=v["timestamp_field"],
            created_field=v["created_timestamp_column"],
            ttl=v["ttl_seconds"],
        )
        for v in case["views"]
    ]
    features = [f'{v["name"]}:{f["name"]}' for v in case["views"] for f in v["features"]]
    return d, views, features


def test_historical_features_equal_expected(pit):
    d, views, features = pit
    entity = pq.read_table(d / "entity_df.parquet")
    got = mlops.get_historical_features(entity, views, features)
    exp = pq.read_table(d / "expected.parquet")
    assert isinstance(got, pa.Table)
    assert got.schema.names == exp.schema.names
    assert got.schema.types == exp.schema.types
    # equals() compares values and null masks; floats were copied so equality is bitwise
    assert got.equals(exp), "training set differs from expected.parquet"


def test_historical_features_from_chunked_table(pit):
    d, views, features = pit
    entity = pq.read_table(d / "entity_df.parquet")
    chunked = pa.Table.from_batches(entity.to_batches(max_chunksize=128))
    assert chunked.column(0).num_chunks > 1
    got = mlops.get_historical_features(chunked, views, features)
    assert got.equals(pq.read_table(d / "expected.parquet"))


def test_historical_features_from_pandas(pit):
    pd = pytest.importorskip("pandas")
    d, views, features = pit
    entity = pq.read_table(d / "entity_df.parquet")
    df = entity.to_pandas()
    assert isinstance(df, pd.DataFrame)
    got = mlops.get_historical_features(df, views, features)
    exp = pq.read_table(d / "expected.parquet")
    assert got.column("fv0__conv_rate").equals(exp.column("fv0__conv_rate"))
    assert got.column("fv1__tier").equals(exp.column("fv1__tier"))


def test_historical_features_errors(pit):
    d, views, features = pit
    entity = pq.read_table(d / "entity_df.parquet")
    with pytest.raises(mlops.InvalidArgumentError):
        mlops.get_historical_features(entity, views, ["conv_rate"])
    with pytest.raises(mlops.MlopsError):
        mlops.get_historical_features(entity, views, ["nope:conv_rate"])
    with pytest.raises(mlops.MlopsError):
        mlops.get_historical_features(entity.drop_columns(["driver_id"]), views, features)


def test_feature_store_apply_historical_materialize_online(pit, testdata):
    d, _, features = pit
    case = json.loads((d / "case.json").read_text())
    defs = {
        "entities": [{"name": "driver", "join_keys": [{"name": "driver_id", "type": "int64"}]}],
        "feature_views": [
            {
                "name": v["name"],
                "entities": ["driver"],
                "ttl_seconds": v["ttl_seconds"],
                "features": v["features"],
                "source": {
                    "url": (d / v["path"]).as_uri(),
                    "created_timestamp_column": v["created_timestamp_column"],
                },
            }
            for v in case["views"]
        ],
    }
    fs = mlops.FeatureStore("memory://")
    assert fs.apply(defs) == 1
    entity = pq.read_table(d / "entity_df.parquet")
    assert fs.get_historical_features(entity, features).equals(pq.read_table(d / "expected.parquet"))

    src = pq.read_table(d / "fv1.parquet")
    ts = src.column("event_timestamp").to_pylist()
    start, end = min(ts), max(ts)
    n = fs.materialize(["fv1"], start, end)
    assert n["fv1"] > 0
    # the latest fv1 row per driver (ties to the latest created), computed here in Python
    rows = sorted(
        src.select(["driver_id", "event_timestamp", "created", "conv_rate"]).to_pylist(),
        key=lambda r: (r["event_timestamp"], r["created"] is not None, r["created"] or start),
    )
    latest = {}
    for r in rows:
        latest[r["driver_id"]] = r["conv_rate"]
    keys = sorted(latest)[:5] + [10**9]
    got = fs.get_online_features(pa.table({"driver_id": pa.array(keys, pa.int64())}), ["fv1:conv_rate"], now=end)
    assert got.column("driver_id").to_pylist() == keys
    assert got.column("fv1__conv_rate").to_pylist() == [latest[k] for k in keys[:-1]] + [None]


def _py_addresses(array):
    """pyarrow's buffer addresses of one array (validity first, then data; children after)."""
    return [None if b is None else b.address for b in array.buffers()]


def test_historical_features_result_is_not_copied(pit):
    """The Table pyarrow receives holds the very buffers the Rust join produced: every buffer
    address of every column (validity bitmaps, offsets, values) is the Rust address."""
    d, views, features = pit
    entity = pq.read_table(d / "entity_df.parquet")
    table, rust = mlops._mlops._historical_features_traced(
        entity, [v._spec() for v in views], features, True, None
    )
    assert table.equals(pq.read_table(d / "expected.parquet"))
    assert len(rust) == table.num_columns
    data_buffers = 0
    nulls = 0
    for i, name in enumerate(table.schema.names):
        col = table.column(i)
        assert col.num_chunks == 1, name
        py = _py_addresses(col.chunks[0])
        assert py == rust[i], (name, py, rust[i])
        data_buffers += sum(a is not None for a in py[1:])
        nulls += py[0] is not None
    # the check covered real buffers: every column's values, and validity bitmaps
    assert data_buffers >= table.num_columns
    assert nulls >= 1


def test_historical_features_traced_matches_public_api(pit):
    d, views, features = pit
    entity = pq.read_table(d / "entity_df.parquet")
    table, _ = mlops._mlops._historical_features_traced(entity, [v._spec() for v in views], features)
    assert table.equals(mlops.get_historical_features(entity, views, features))
