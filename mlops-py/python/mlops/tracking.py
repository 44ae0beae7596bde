"""Experiment tracking (mlops-tracking): experiments, runs, metrics, params, tags, artifacts.

Every call runs on the module's tokio runtime with the GIL released.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _mlops
from ._mlops import NotFoundError


def _s(d: Optional[Mapping[str, Any]]) -> Optional[Dict[str, str]]:
    return None if d is None else {str(k): str(v) for k, v in d.items()}


class Tracker:
    """A tracker opened from a URI: ``file:///srv/mlruns``, ``memory://``, ``s3://bucket/p``
    (with ``options``), or an MLflow server ``http://host:5000`` (when built with MLflow)."""

    def __init__(self, uri: str, options: Optional[Mapping[str, str]] = None) -> None:
        self._t = _mlops.Tracker(uri, _s(options))

    @property
    def uri(self) -> str:
        return self._t.uri

    def create_experiment(self, name: str, tags: Optional[Mapping[str, str]] = None) -> str:
        """Creates an experiment; returns its id. Raises AlreadyExistsError for a taken name."""
        return self._t.create_experiment(name, _s(tags))

    def get_experiment(self, experiment_id: str) -> Dict[str, Any]:
        return json.loads(self._t.get_experiment_json(experiment_id))

    def get_experiment_by_name(self, name: str) -> Dict[str, Any]:
        return json.loads(self._t.get_experiment_by_name_json(name))

    def get_or_create_experiment(self, name: str) -> str:
        """The id of experiment `name`, created when absent."""
        try:
            return self.get_experiment_by_name(name)["id"]
        except NotFoundError:
            return self.create_experiment(name)

    def start_run(
        self,
        experiment: Optional[str] = None,
        *,
        experiment_id: Optional[str] = None,
        run_name: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
    ) -> "ActiveRun":
        """Starts a run in experiment `experiment` (a name, created when absent) or
        `experiment_id`. Use as a context manager: the run ends FINISHED, or FAILED when the
        block raises."""
        if experiment_id is None:
            experiment_id = self.get_or_create_experiment(experiment or "Default")
        run = json.loads(self._t.create_run_json(experiment_id, run_name, _s(tags)))
        return ActiveRun(self, run)

    def get_run(self, run_id: str) -> Dict[str, Any]:
        """The run as a dict: ``info`` (run_id, status, ...) and ``data`` (metrics, params, tags)."""
        return json.loads(self._t.get_run_json(run_id))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter: str = "",
        order_by: Optional[Sequence[str]] = None,
        max_results: int = 1000,
    ) -> List[Dict[str, Any]]:
        """Runs matching an MLflow filter (``"metrics.loss < 0.5 and params.lr = '0.01'"``)."""
        return json.loads(
            self._t.search_runs_json(
                list(experiment_ids), filter, list(order_by) if order_by else None, max_results
            )
        )

    def metric_history(self, run_id: str, key: str) -> pa.Table:
        """Every point of metric `key`: a pyarrow Table ``key, step, timestamp, value``."""
        return self._t.metric_history(run_id, key)

    def download_artifact(self, run_id: str, path: str) -> bytes:
        return self._t.download_artifact(run_id, path)

    def __repr__(self) -> str:
        return f"Tracker({self.uri!r})"


class BackgroundLogger:
    """Non-blocking logging: calls enqueue and return; a background task writes batches.
    `flush()` waits for everything queued; `close()` flushes and stops (idempotent)."""

    def __init__(self, tracker: Tracker, run_id: str) -> None:
        self._l = _mlops.RunLogger(tracker._t, run_id)

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self._l.log_metric(key, float(value), int(step))

    def log_param(self, key: str, value: Any) -> None:
        self._l.log_param(key, str(value))

    def set_tag(self, key: str, value: Any) -> None:
        self._l.set_tag(key, str(value))

    def flush(self) -> None:
        self._l.flush()

    def close(self) -> None:
        self._l.close()

    def __enter__(self) -> "BackgroundLogger":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ActiveRun:
    """A run being logged to. Context manager: ends FINISHED, or FAILED on an exception."""

    def __init__(self, tracker: Tracker, run: Dict[str, Any]) -> None:
        self._tracker = tracker
        self.info: Dict[str, Any] = run["info"]
        self.run_id: str = self.info["run_id"]
        self.experiment_id: str = self.info["experiment_id"]
        self._background: Optional[BackgroundLogger] = None

    def log_metric(self, key: str, value: float, step: int = 0) -> None:
        self._tracker._t.log_batch(self.run_id, [(key, float(value), int(step))])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        self._tracker._t.log_batch(
            self.run_id, [(k, float(v), int(step)) for k, v in metrics.items()]
        )

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params are write-once: a different value for a logged key raises ConflictError."""
        self._tracker._t.log_batch(self.run_id, None, _s(params))

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._tracker._t.log_batch(self.run_id, None, None, _s(tags))

    def log_artifact(
        self, source: Union[str, os.PathLike, bytes], artifact_path: Optional[str] = None
    ) -> Dict[str, Any]:
        """Stores a local file (or raw bytes, then `artifact_path` is required) under the run's
        artifact root. Returns ``{"path", "size", "digest"}``."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            if artifact_path is None:
                raise ValueError("artifact_path is required when logging bytes")
            data = bytes(source)
        else:
            with open(source, "rb") as f:
                data = f.read()
            artifact_path = artifact_path or os.path.basename(os.fspath(source))
        path, size, digest = self._tracker._t.log_artifact(self.run_id, artifact_path, data)
        return {"path": path, "size": size, "digest": digest}

    def metric_history(self, key: str) -> pa.Table:
        return self._tracker.metric_history(self.run_id, key)

    def background(self) -> BackgroundLogger:
        """The run's background logger (one per run; closed when the run ends)."""
        if self._background is None:
            self._background = BackgroundLogger(self._tracker, self.run_id)
        return self._background

    def end(self, status: str = "FINISHED") -> None:
        """Flushes the background logger and ends the run with `status`."""
        try:
            if self._background is not None:
                self._background.close()
        finally:
            self._tracker._t.end_run(self.run_id, status)

    def __enter__(self) -> "ActiveRun":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.end("FAILED" if exc_type is not None else "FINISHED")

    def __repr__(self) -> str:
        return f"ActiveRun(run_id={self.run_id!r}, experiment_id={self.experiment_id!r})"
