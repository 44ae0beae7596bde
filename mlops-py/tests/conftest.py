"""Shared fixtures: where the oracle data lives (`SHARED` env var, else beside the repository)."""

import os
import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
SHARED = pathlib.Path(os.environ.get("SHARED", HERE / ".." / ".." / ".." / "shared")).resolve()


@pytest.fixture(scope="session")
def testdata() -> pathlib.Path:
    p = SHARED / "testdata"
    assert p.is_dir(), f"oracle data not found at {p} (set SHARED)"
    return p
