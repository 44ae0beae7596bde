import pathlib

import pytest

import mlops

HERE = pathlib.Path(__file__).resolve().parent
POLICY = (HERE.parent.parent / "examples" / "policy.toml").read_text()

ALICE = mlops.Principal.user("alice")
BOB = mlops.Principal.user("bob")


def test_policy_decisions():
    p = mlops.Policy(POLICY)
    assert "data-scientist" in p.roles_of(ALICE)
    assert p.allows(ALICE, "write", "experiment:churn")
    assert not p.allows(ALICE, "promote", "model:fraud-detector@production")
    with pytest.raises(mlops.InvalidArgumentError):
        p.allows(ALICE, "fly", "model:x")
    with pytest.raises(mlops.MlopsError):
        mlops.Policy("version = 'nope'")


@pytest.mark.parametrize("scheme", ["memory", "file"])
def test_audit_record_query_verify(scheme, tmp_path):
    log = mlops.AuditLog("memory://" if scheme == "memory" else f"file://{tmp_path}/audit")
    log.record(ALICE, "write", "model:fraud-a", details={"method": "create_version"})
    log.record(ALICE, "promote", "model:fraud-a@production", outcome="denied")
    log.record(BOB, "approve", "model:fraud-a@staging")
    log.flush()
    everything = log.query()
    assert [e["seq"] for e in everything] == [1, 2, 3]
    denied = log.query(outcome="denied")
    assert len(denied) == 1 and denied[0]["principal"] == "alice"
    assert [e["action"] for e in log.query(principal="bob")] == ["approve"]
    assert len(log.query(resource="model:fraud-*")) >= 1
    assert everything[0]["details"]["method"] == "create_version"
    v = log.verify()
    assert v == {"clean": True, "records": 3, "broken": None}
