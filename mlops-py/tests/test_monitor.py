import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mlops


def close(a, b, rel, abs_=1e-12):
    if isinstance(b, str):
        b = float(b)
    if math.isnan(b):
        return math.isnan(a)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


@pytest.fixture(scope="module")
def drift(testdata):
    d = testdata / "drift"
    return d, json.loads((d / "expected.json").read_text())


# closed-form scores vs p-values (README "Suggested tolerances")
P_VALUE = {"ks", "chisquare", "z", "cramer_von_mises", "fisher_exact", "anderson"}

CASES = [
    "num_normal_shift",
    "num_same_distribution",
    "num_small_shift_large_n",
    "num_nulls_nan_inf",
    "num_int_ties_low_card",
    "num_int_ties_high_card",
    "num_heavy_tails",
    "cat_shift",
    "cat_new_category",
    "cat_nulls",
    "cat_bool",
    "cat_large_n",
]


@pytest.mark.parametrize("case", CASES)
def test_column_drift_default_matches_evidently(drift, case):
    d, exp = drift
    ref = pq.read_table(d / case / "reference.parquet").column("value")
    cur = pq.read_table(d / case / "current.parquet").column("value")
    want = exp["columns"][case]["evidently"]["default"]
    got = mlops.column_drift(ref, cur)
    assert got.method == want["method"]
    assert got.drift == want["drift"]
    assert got.threshold == pytest.approx(want["threshold"])
    rel = 1e-6 if got.method in P_VALUE else 1e-9
    assert close(got.score, want["score"], rel), (got.score, want["score"])


@pytest.mark.parametrize("method", ["psi", "kl_div", "jensenshannon", "wasserstein", "ks", "hellinger"])
def test_column_drift_methods_numerical(drift, method):
    d, exp = drift
    case = "num_normal_shift"
    ref = pq.read_table(d / case / "reference.parquet").column("value")
    cur = pq.read_table(d / case / "current.parquet").column("value")
    want = exp["columns"][case]["evidently"]["methods"][method]
    got = mlops.column_drift(ref, cur, method=method)
    rel = 1e-6 if method in P_VALUE else 1e-9
    assert close(got.score, want["score"], rel), (method, got.score, want["score"])
    assert got.drift == want["drift"]


def test_column_drift_from_numpy_and_lists():
    rng = np.random.default_rng(7)
    ref = rng.normal(0, 1, 500)
    a = mlops.column_drift(ref, ref + 1.0)
    b = mlops.column_drift(pa.array(ref), pa.array(ref + 1.0))
    assert a == b
    assert a.method == "ks" and a.drift and a.n_reference == 500
    same = mlops.column_drift(ref, ref)
    assert same.score == pytest.approx(1.0) and not same.drift
    cat = mlops.column_drift(["a", "b", "a", "c"], ["a", "c", "c", "c"])
    assert cat.kind == "categorical" and cat.method == "chisquare"


@pytest.mark.parametrize("case", ["dataset_half_drifted", "dataset_two_of_five"])
def test_dataset_drift_matches_evidently(drift, case):
    d, exp = drift
    want = exp["datasets"][case]
    ref = pq.read_table(d / case / "reference.parquet")
    cur = pq.read_table(d / case / "current.parquet")
    kinds = {c: "numerical" for c in want["numerical"]}
    kinds.update({c: "categorical" for c in want["categorical"]})
    got = mlops.dataset_drift(ref, cur, columns=list(want["columns"]), kinds=kinds)
    v = want["dataset_drift"]
    assert (got.drifted, got.total, got.drift) == (
        v["number_of_drifted_columns"],
        v["number_of_columns"],
        v["dataset_drift"],
    )
    assert got.share == pytest.approx(v["share_of_drifted_columns"])
    for name, w in want["columns"].items():
        c = got.by_column[name]
        assert close(c.score, w["score"], 1e-6), (name, c.score, w["score"])


@pytest.mark.parametrize("case", ["fair_hand_checkable", "fair_three_groups"])
def test_fairness_matches_fairlearn(drift, case):
    d, exp = drift
    want = exp["fairness"][case]
    t = pq.read_table(d / case / "data.parquet")
    got = mlops.fairness(t.column("y_true"), t.column("y_pred"), t.column("group"))
    for g, rates in want["by_group"].items():
        for k in ("selection_rate", "tpr", "fpr"):
            assert close(got["by_group"][g][k], rates[k], 1e-9), (g, k)
    for method in ("between_groups", "to_overall"):
        for k, v in want[method].items():
            assert close(got[method][k], v, 1e-9), (method, k, got[method][k], v)


def test_fairness_from_numpy():
    r = mlops.fairness(np.array([1, 0, 1, 1, 0, 1]), np.array([1, 0, 0, 1, 1, 1]), ["a", "a", "a", "b", "b", "b"])
    assert r["by_group"]["a"]["tpr"] == 0.5
    assert r["between_groups"]["demographic_parity_difference"] == pytest.approx(2 / 3)  # a selects 1/3, b selects 3/3


def test_performance():
    m = mlops.classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], scores=np.array([0.1, 0.6, 0.8, 0.9]))
    assert m["accuracy"] == 0.75
    assert m["roc_auc"] == 1.0
    assert m["confusion_matrix"] == [[1, 1], [0, 2]]
    r = mlops.regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0]))
    assert r["mae"] == pytest.approx(2 / 3)
    assert r["rmse"] == pytest.approx(math.sqrt(4 / 3))


def test_errors_map_to_kinds():
    assert issubclass(mlops.NotFoundError, mlops.MlopsError)
    assert issubclass(mlops.InvalidArgumentError, mlops.MlopsError)
    with pytest.raises(mlops.InvalidArgumentError, match="unknown drift method"):
        mlops.column_drift([1.0, 2.0], [2.0, 3.0], method="nope")
    with pytest.raises(mlops.UnsupportedError):
        mlops.column_drift([1.0, 2.0], [2.0, 3.0], method="TVD")
    with pytest.raises(mlops.InvalidArgumentError):
        mlops.column_drift([], [1.0, 2.0])
    with pytest.raises(mlops.InvalidArgumentError):
        mlops.regression_metrics([1.0], [1.0, 2.0])


def test_numpy_reaches_rust_without_a_copy():
    """A float64 numpy array is wrapped by pyarrow (no copy) and imported by Rust through the
    Arrow C data interface (no copy): Rust sees the numpy data pointer itself."""
    from mlops._convert import to_array

    x = np.random.default_rng(3).normal(size=1000)
    arr = to_array(x)
    assert arr.buffers()[1].address == x.ctypes.data
    assert mlops._mlops._imported_buffer_addresses(arr) == [None, x.ctypes.data]
    # a pandas Series takes the same route (pandas 3 copies the ndarray into the Series itself,
    # so compare with the Series' own values)
    pd = pytest.importorskip("pandas")
    s = pd.Series(x)
    values = s.to_numpy()
    assert mlops._mlops._imported_buffer_addresses(to_array(s)) == [None, values.ctypes.data]


def test_monitor_accepts_pandas_and_dicts(drift):
    pd = pytest.importorskip("pandas")
    d, exp = drift
    case = "num_normal_shift"
    ref = pq.read_table(d / case / "reference.parquet").column("value")
    cur = pq.read_table(d / case / "current.parquet").column("value")
    want = exp["columns"][case]["evidently"]["default"]
    # pandas Series (nulls and NaN both dropped, as Evidently does)
    got = mlops.column_drift(ref.to_pandas(), cur.to_pandas())
    assert got.method == want["method"] and got.drift == want["drift"]
    assert close(got.score, want["score"], 1e-6 if got.method in P_VALUE else 1e-9)

    case = "dataset_half_drifted"
    w = exp["datasets"][case]
    kinds = {c: "numerical" for c in w["numerical"]}
    kinds.update({c: "categorical" for c in w["categorical"]})
    rt = pq.read_table(d / case / "reference.parquet")
    ct = pq.read_table(d / case / "current.parquet")
    from_pandas = mlops.dataset_drift(rt.to_pandas(), ct.to_pandas(), columns=list(w["columns"]), kinds=kinds)
    from_dicts = mlops.dataset_drift(
        {c: rt.column(c) for c in w["columns"]},
        {c: ct.column(c) for c in w["columns"]},
        kinds=kinds,
    )
    for got in (from_pandas, from_dicts):
        assert (got.drifted, got.total, got.drift) == (
            w["dataset_drift"]["number_of_drifted_columns"],
            w["dataset_drift"]["number_of_columns"],
            w["dataset_drift"]["dataset_drift"],
        )

    df = pd.DataFrame({"t": [1, 0, 1, 1, 0, 1], "p": [1, 0, 0, 1, 1, 1], "g": list("aaabbb")})
    f = mlops.fairness(df["t"], df["p"], df["g"])
    assert f["by_group"]["a"]["tpr"] == 0.5 and f["by_group"]["b"]["selection_rate"] == 1.0
    m = mlops.classification_metrics(df["t"], df["p"])
    assert m["accuracy"] == pytest.approx(4 / 6) and m["confusion_matrix"] == [[1, 1], [1, 3]]
    r = mlops.regression_metrics(pd.Series([1.0, 2.0]), pd.Series([2.0, 2.0]))
    assert r["mae"] == 0.5 and r["rmse"] == pytest.approx(math.sqrt(0.5))


def test_dataset_drift_report_is_a_dataclass():
    import dataclasses

    rng = np.random.default_rng(1)
    ref = {"a": rng.normal(0, 1, 2000), "b": rng.normal(0, 1, 2000)}
    cur = {"a": rng.normal(3, 1, 2000), "b": rng.normal(0, 1, 2000)}
    got = mlops.dataset_drift(ref, cur, drift_share=0.5)
    assert dataclasses.is_dataclass(got) and dataclasses.is_dataclass(got.by_column["a"])
    assert got.by_column["a"].drift and not got.by_column["b"].drift
    assert (got.drifted, got.total, got.share, got.drift) == (1, 2, 0.5, True)
    assert dataclasses.asdict(got.by_column["a"])["n_reference"] == 2000
