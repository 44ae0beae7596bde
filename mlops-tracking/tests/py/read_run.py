"""Reads a run back with MLflow's own Python client and prints it as JSON.

Usage: python read_run.py TRACKING_URI RUN_ID ARTIFACT_PATH
Used by mlops-tracking/tests/mlflow.rs (interop: what the Rust backend logs, MLflow reads).
"""
import json
import math
import sys
import tempfile

from mlflow.tracking import MlflowClient
import mlflow.artifacts


def num(v):
    if math.isnan(v):
        return "NaN"
    return v


def main():
    uri, run_id, art = sys.argv[1], sys.argv[2], sys.argv[3]
    c = MlflowClient(tracking_uri=uri)
    r = c.get_run(run_id)
    hist = {
        k: [[m.step, m.timestamp, num(m.value)] for m in c.get_metric_history(run_id, k)]
        for k in r.data.metrics
    }
    with tempfile.TemporaryDirectory() as d:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=art, dst_path=d, tracking_uri=uri
        )
        with open(local, "rb") as f:
            content = f.read().hex()
    files = sorted(
        [f.path, f.is_dir] for f in c.list_artifacts(run_id)
    )
    print(json.dumps({
        "name": r.info.run_name,
        "status": r.info.status,
        "params": r.data.params,
        "tags": {k: v for k, v in r.data.tags.items() if not k.startswith("mlflow.")},
        "history": hist,
        "files": files,
        "artifact_hex": content,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
