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


def test_policy_principals_and_services():
    p = mlops.Policy(POLICY)
    ci = mlops.Principal.service("ci")
    assert p.roles_of(ci) == ["pipeline"]
    assert p.allows(ci, "promote", "model:fraud-a@staging")
    assert not p.allows(ci, "promote", "model:fraud-a@production")
    assert p.allows(BOB, "promote", "model:fraud-a@production")
    assert not p.allows(BOB, "write", "model:fraud-a")
    # an unknown principal has no role and may do nothing
    assert p.roles_of(mlops.Principal.user("mallory")) == []
    assert not p.allows(mlops.Principal.user("mallory"), "read", "experiment:x")


def test_audit_verify_detects_tampering(tmp_path):
    uri = f"file://{tmp_path}/audit"
    log = mlops.AuditLog(uri)
    for i in range(3):
        log.record(ALICE, "write", f"model:m{i}")
    log.flush()
    assert mlops.AuditLog(uri).verify() == {"clean": True, "records": 3, "broken": None}
    (segment,) = [p for p in (tmp_path / "audit").rglob("*") if p.is_file()]
    data = segment.read_bytes()
    assert data.count(b'"m1"') == 1
    segment.write_bytes(data.replace(b'"m1"', b'"m9"'))  # same length, one record edited
    v = mlops.AuditLog(uri).verify()
    assert v["clean"] is False and v["records"] == 1
    assert "HashMismatch" in v["broken"]


def test_one_exception_class_per_error_kind():
    names = [
        "NotFoundError",
        "AlreadyExistsError",
        "InvalidArgumentError",
        "ConflictError",
        "PermissionDeniedError",
        "UnauthenticatedError",
        "IntegrityError",
        "UnsupportedError",
        "RateLimitedError",
        "UnavailableError",
        "TimeoutError",
        "BackendError",
    ]
    classes = [getattr(mlops, n) for n in names]
    assert len(set(classes)) == len(names)
    for n, c in zip(names, classes):
        assert c.__name__ == n and issubclass(c, mlops.MlopsError) and c is not mlops.MlopsError
    assert issubclass(mlops.MlopsError, Exception)
