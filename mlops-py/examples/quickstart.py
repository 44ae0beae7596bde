"""The mlops-rs quickstart in Python: the same loop as `examples/examples/quickstart.rs`.

    pip install ./mlops-py numpy
    python mlops-py/examples/quickstart.py [DIR]     # writes into DIR (default ./.mlops-quickstart-py)

1. tracking: a training run with params, a metric curve and an artifact;
2. features: a point-in-time-correct training set from Parquet sources;
3. monitor: a drift report and a fairness report, turned into promotion gates;
4. registry: the run's model registered with lineage, gates attached, two approvals,
   promoted to staging, and the GitOps manifest exported.
"""

import datetime as dt
import pathlib
import shutil
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import mlops


def main(root: pathlib.Path) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    root = root.resolve()
    print(f"mlops quickstart (Python): everything goes under {root}")

    print("\n== 1. tracking")
    tracker = mlops.Tracker(f"file://{root}/mlruns")
    with tracker.start_run("churn", run_name="baseline") as run:
        run.log_params({"lr": 0.05, "depth": 6})
        log = run.background()  # training loops never block on I/O
        for step in range(100):
            log.log_metric("loss", 1.0 / (step + 1), step)
        log.flush()
        run.log_metrics({"auc": 0.91})
        run.log_artifact(b"model weights", "model/model.bin")
    hist = tracker.metric_history(run.run_id, "loss")
    print(f"run {run.run_id}: {hist.num_rows} loss points, last {hist.column('value')[-1]}")

    print("\n== 2. features")
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    hours = [t0 + dt.timedelta(hours=h) for h in range(4)]
    pq.write_table(
        pa.table(
            {
                "driver_id": pa.array([1, 1, 2, 2], pa.int64()),
                "event_timestamp": pa.array(hours, pa.timestamp("us", tz="UTC")),
                "created": pa.array(hours, pa.timestamp("us", tz="UTC")),
                "conv_rate": [0.1, 0.2, 0.7, 0.8],
            }
        ),
        root / "driver_stats.parquet",
    )
    entity = pa.table(
        {
            "driver_id": pa.array([1, 2, 3], pa.int64()),
            "event_timestamp": pa.array([hours[1], hours[2], hours[3]], pa.timestamp("us", tz="UTC")),
        }
    )
    view = mlops.FeatureView("driver_stats", root / "driver_stats.parquet", ["driver_id"], ttl=86400)
    training = mlops.get_historical_features(entity, [view], ["driver_stats:conv_rate"])
    print(training.to_pydict()["driver_stats__conv_rate"])  # [0.2, 0.7, None]

    print("\n== 3. monitor")
    rng = np.random.default_rng(0)
    reference = rng.normal(0.0, 1.0, 5_000)
    current = rng.normal(0.05, 1.0, 5_000)
    drift = mlops.column_drift(reference, current, column="income")
    print(f"drift: {drift.method} score={drift.score:.4f} drift={drift.drift}")
    y_true = rng.integers(0, 2, 1_000)
    y_pred = np.where(rng.random(1_000) < 0.85, y_true, 1 - y_true)
    group = np.where(rng.random(1_000) < 0.5, "a", "b")
    fair = mlops.fairness(y_true, y_pred, group)
    ratio = fair["between_groups"]["demographic_parity_ratio"]
    print(f"demographic parity ratio: {ratio:.3f}")
    gates = [
        mlops.gate_report("no drift", not drift.drift, figures={"score": drift.score}),
        mlops.gate_report(
            "disparate impact", ratio >= 0.8, figures={"ratio": ratio}, thresholds={"ratio": (">=", 0.8)}
        ),
    ]

    print("\n== 4. registry and promotion")
    reg = mlops.Registry(f"file://{root}/registry")
    ci = mlops.Principal.service("ci")
    v = reg.register_run("churn", tracker, run.run_id, ci, ["model/model.bin"])
    req = reg.request_promotion("churn", v["version"], "staging", ci, "weekly retrain")
    for g in gates:
        reg.attach_report(req, g)
    reg.approve(req, mlops.Principal.user("dana"), "metrics ok")
    reg.approve(req, mlops.Principal.user("lee"), "fairness ok")
    reg.promote(req, ci)
    print(f"staging serves churn v{reg.resolve_alias('churn', 'staging')['version']}")
    print(reg.export_deployments("staging"))
    print(f"quickstart finished: see {root}")


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".mlops-quickstart-py"))
