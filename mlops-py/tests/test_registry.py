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
