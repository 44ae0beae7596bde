import pytest

import mlops

CI = mlops.Principal.service("ci")
DANA = mlops.Principal.user("dana")


@pytest.fixture(params=["memory", "file"])
def reg(request, tmp_path):
    return mlops.Registry("memory://" if request.param == "memory" else f"file://{tmp_path}/reg")


def test_versions_and_aliases(reg):
    m = reg.create_model("churn")
    assert m["name"] == "churn"
    with pytest.raises(mlops.AlreadyExistsError):
        reg.create_model("churn")
    v1 = reg.create_version("churn", CI, artifacts={"model.pkl": b"\x01\x02"}, metrics={"auc": 0.9})
    v2 = reg.create_version("churn", CI, artifacts={"model.pkl": b"\x03"}, tags={"git": "abc"})
    assert (v1["version"], v2["version"]) == (1, 2)
    assert reg.get_version("churn", 1)["metrics"]["auc"] == 0.9
    assert reg.get_artifact("churn", 1, "model.pkl") == b"\x01\x02"
    reg.set_alias("churn", "champion", 2)
    assert reg.resolve_alias("churn", "champion")["version"] == 2
    with pytest.raises(mlops.NotFoundError):
        reg.get_version("churn", 9)
    with pytest.raises(mlops.InvalidArgumentError):
        reg.create_model("Bad Name!")


def test_promotion_four_eyes_and_export(reg):
    reg.create_model("churn")
    v = reg.create_version("churn", CI, artifacts={"model.pkl": b"abc"})
    req = reg.request_promotion("churn", v["version"], "qa", CI, "nightly")
    assert req["environment"] == "qa" and req["version"] == 1
    with pytest.raises(mlops.MlopsError):
        reg.promote(req, CI)  # qa needs one approval
    with pytest.raises(mlops.MlopsError):
        reg.approve(req, CI, "self-approval")  # four eyes
    reg.approve(req, DANA, "looks good")
    d = reg.promote(req, CI)
    assert d["version"] == 1
    assert reg.resolve_alias("churn", "qa")["version"] == 1
    assert reg.deployed("churn", "qa")["version"] == 1
    assert reg.deployed("churn", "staging") is None
    y = reg.export_deployments("qa")
    assert "kind: ModelDeployments" in y and "churn" in y


def test_register_from_run(reg):
    t = mlops.Tracker("memory://")
    with t.start_run("exp") as run:
        run.log_metric("auc", 0.93)
        run.log_artifact(b"weights", "model/weights.bin")
    v = reg.register_run("fraud", t, run.run_id, CI, ["model/weights.bin"])
    assert v["version"] == 1 and v["metrics"]["auc"] == 0.93
    assert reg.get_artifact("fraud", 1, "model/weights.bin") == b"weights"
    assert run.run_id in str(v)


def test_gate_reports_and_staging(reg):
    reg.create_model("churn")
    v = reg.create_version("churn", CI, artifacts={"model.pkl": b"abc"})
    req = reg.request_promotion("churn", v["version"], "staging", CI, "release")
    drift = mlops.column_drift([0.1, 0.2, 0.3, 0.4] * 50, [0.1, 0.2, 0.3, 0.4] * 50)
    reg.attach_report(
        req,
        mlops.gate_report(
            "no drift", not drift.drift, figures={"p": drift.score}, thresholds={"p": (">", 0.05)}
        ),
    )
    with pytest.raises(mlops.InvalidArgumentError):
        reg.attach_report(req, {"check": "x"})
    reg.approve(req, DANA)
    with pytest.raises(mlops.MlopsError):
        reg.promote(req, CI)  # staging needs two approvals
    reg.approve(req, mlops.Principal.user("lee"))
    assert reg.promote(req, CI)["version"] == 1
    assert "churn" in reg.export_deployments("staging")


def test_models_uri_and_ensure(reg):
    assert reg.uri.startswith(("memory://", "file://"))
    m = reg.ensure_model("churn")
    assert m["name"] == "churn" and m["latest_version"] is None
    assert reg.ensure_model("churn")["created_at"] == m["created_at"]  # idempotent
    reg.create_version("churn", CI, artifacts={"model.pkl": b"x"})
    assert reg.get_model("churn")["latest_version"] == 1
    with pytest.raises(mlops.NotFoundError):
        reg.get_model("nope")


def _deploy(reg, version, env="qa"):
    req = reg.request_promotion("churn", version, env, CI, f"v{version}")
    reg.approve(req, DANA)
    return reg.promote(req, CI)


def test_rollback_returns_to_the_previous_deployment(reg):
    reg.create_model("churn")
    for b in (b"v1", b"v2"):
        reg.create_version("churn", CI, artifacts={"model.pkl": b})
    d1, d2 = _deploy(reg, 1), _deploy(reg, 2)
    assert (d1["version"], d2["version"]) == (1, 2)
    assert reg.deployed("churn", "qa")["version"] == 2
    r = reg.rollback("churn", "qa", DANA, "latency regression")
    assert r["version"] == 1 and r["rollback_from"] == 2 and r["by"] == "dana"
    assert r["manifest_digest"] == d1["manifest_digest"]
    assert reg.deployed("churn", "qa")["version"] == 1
    assert reg.resolve_alias("churn", "qa")["version"] == 1


def test_rejected_request_is_closed(reg):
    reg.create_model("churn")
    v = reg.create_version("churn", CI, artifacts={"model.pkl": b"x"})
    req = reg.request_promotion("churn", v["version"], "qa", CI)
    reg.reject(req, DANA, "not yet")
    with pytest.raises(mlops.ConflictError, match="rejected by dana"):
        reg.approve(req, mlops.Principal.user("lee"))
    with pytest.raises(mlops.ConflictError, match="rejected by dana"):
        reg.promote(req, CI)
    assert reg.deployed("churn", "qa") is None


def test_deferred_durability_on_file(tmp_path):
    url = f"file://{tmp_path}/reg"
    w = mlops.Registry(url, options={"durability": "deferred:60000ms"})
    w.create_model("churn")
    for i in range(1, 4):
        assert w.create_version("churn", CI, metrics={"i": float(i)})["version"] == i
    # visible to another handle before any flush, then made durable by the barrier
    r = mlops.Registry(url)
    assert r.get_model("churn")["latest_version"] == 3
    assert [r.get_version("churn", i)["metrics"]["i"] for i in (1, 2, 3)] == [1.0, 2.0, 3.0]
    w.flush()
    r.flush()  # a no-op barrier on the default (flush per change)
    with pytest.raises(mlops.InvalidArgumentError, match="sometimes"):
        mlops.Registry(url, options={"durability": "sometimes"})
