import pyarrow as pa
import pytest

import mlops


@pytest.fixture(params=["memory", "file"])
def tracker(request, tmp_path):
    uri = "memory://" if request.param == "memory" else f"file://{tmp_path}/mlruns"
    return mlops.Tracker(uri)


def test_experiments(tracker):
    eid = tracker.create_experiment("fraud", tags={"team": "risk"})
    e = tracker.get_experiment(eid)
    assert e["name"] == "fraud" and e["tags"]["team"] == "risk"
    assert tracker.get_experiment_by_name("fraud")["id"] == eid
    assert tracker.get_or_create_experiment("fraud") == eid
    with pytest.raises(mlops.AlreadyExistsError):
        tracker.create_experiment("fraud")
    with pytest.raises(mlops.NotFoundError):
        tracker.get_experiment_by_name("nope")


def test_run_context_manager_logs_and_finishes(tracker, tmp_path):
    art = tmp_path / "model.txt"
    art.write_bytes(b"weights")
    with tracker.start_run("fraud", run_name="baseline", tags={"stage": "dev"}) as run:
        run.log_params({"lr": 0.01, "depth": 6})
        run.log_param("seed", 7)
        run.set_tags({"owner": "ana"})
        for step, loss in enumerate([0.9, 0.5, 0.3]):
            run.log_metric("loss", loss, step=step)
        run.log_metrics({"auc": 0.91, "f1": 0.8}, step=3)
        a = run.log_artifact(str(art))
        assert a["path"] == "model.txt" and a["size"] == 7 and a["digest"].startswith("blake3:")
        run.log_artifact(b'{"a": 1}', "meta/info.json")
    r = tracker.get_run(run.run_id)
    assert r["info"]["status"] == "FINISHED"
    assert r["info"]["run_name"] == "baseline"
    assert r["data"]["params"] == {"lr": "0.01", "depth": "6", "seed": "7"}
    assert r["data"]["tags"]["owner"] == "ana" and r["data"]["tags"]["stage"] == "dev"
    assert r["data"]["metrics"]["loss"]["value"] == 0.3
    assert r["data"]["metrics"]["auc"]["value"] == 0.91
    h = tracker.metric_history(run.run_id, "loss")
    assert isinstance(h, pa.Table)
    assert h.column("step").to_pylist() == [0, 1, 2]
    assert h.column("value").to_pylist() == [0.9, 0.5, 0.3]
    assert tracker.download_artifact(run.run_id, "meta/info.json") == b'{"a": 1}'
    assert tracker.download_artifact(run.run_id, "model.txt") == b"weights"


def test_run_fails_on_exception(tracker):
    with pytest.raises(RuntimeError):
        with tracker.start_run("exp") as run:
            run.log_metric("x", 1.0)
            raise RuntimeError("boom")
    assert tracker.get_run(run.run_id)["info"]["status"] == "FAILED"


def test_param_conflict_raises(tracker):
    with tracker.start_run("exp") as run:
        run.log_param("lr", 0.1)
        with pytest.raises(mlops.ConflictError):
            run.log_param("lr", 0.2)


def test_search_runs(tracker):
    eid = tracker.create_experiment("search")
    for lr, loss in [("0.01", 0.3), ("0.1", 0.9)]:
        with tracker.start_run(experiment_id=eid) as run:
            run.log_param("lr", lr)
            run.log_metric("loss", loss)
    best = tracker.search_runs([eid], filter="metrics.loss < 0.5", order_by=["metrics.loss"])
    assert len(best) == 1 and best[0]["data"]["params"]["lr"] == "0.01"
    both = tracker.search_runs([eid], order_by=["metrics.loss DESC"])
    assert [r["data"]["params"]["lr"] for r in both] == ["0.1", "0.01"]


def test_background_logger(tracker):
    with tracker.start_run("bg") as run:
        log = run.background()
        for step in range(500):
            log.log_metric("loss", 1.0 / (step + 1), step)
        log.log_param("opt", "adam")
        log.set_tag("bg", "yes")
        log.flush()
        h = run.metric_history("loss")
        assert h.num_rows == 500
        assert h.column("step").to_pylist() == list(range(500))
    r = tracker.get_run(run.run_id)
    assert r["data"]["params"]["opt"] == "adam" and r["data"]["tags"]["bg"] == "yes"
    assert r["info"]["status"] == "FINISHED"
    with pytest.raises(mlops.InvalidArgumentError, match="closed"):
        log.log_metric("loss", 1.0, 0)


def test_bad_uri():
    with pytest.raises(mlops.InvalidArgumentError):
        mlops.Tracker("nope://x")
