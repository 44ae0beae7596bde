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
