"""Governance (mlops-core): policies ("may this principal do this?") and the hash-chained
audit log (record, query, verify)."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from . import _mlops
from .registry import Principal


class Policy:
    """A role-based policy loaded from TOML (or YAML with :meth:`from_yaml`)."""

    def __init__(self, toml: str) -> None:
        self._p = _mlops.Policy.from_toml(toml)

    @classmethod
    def from_yaml(cls, yaml: str) -> "Policy":
        p = cls.__new__(cls)
        p._p = _mlops.Policy.from_yaml(yaml)
        return p

    def allows(self, principal: Principal, action: str, resource: str) -> bool:
        """Whether `principal` may do `action` (read, write, delete, approve, promote,
        materialize, admin) on `resource` (``"model:fraud@production"``, ``"experiment:x"``)."""
        kind, _, rest = resource.partition(":")
        name, _, env = rest.partition("@")
        return self._p.allows(principal._json(), action, kind, name, env or None)

    def roles_of(self, principal: Principal) -> List[str]:
        return self._p.roles_of(principal._json())


class AuditLog:
    """An append-only, hash-chained audit log on an object-store URL."""

    def __init__(self, uri: str) -> None:
        self._l = _mlops.AuditLog(uri)

    def record(
        self,
        principal: Principal,
        action: str,
        resource: str,
        outcome: str = "allowed",
        details: Optional[Mapping[str, str]] = None,
    ) -> None:
        """Queues an event; `outcome` is ``allowed``, ``denied`` or ``failed:<kind>``."""
        kind, _, rest = resource.partition(":")
        name, _, env = rest.partition("@")
        self._l.record(
            principal._json(), action, kind, name, outcome, env or None, dict(details or {})
        )

    def flush(self) -> None:
        self._l.flush()

    def query(
        self,
        principal: Optional[str] = None,
        action: Optional[str] = None,
        resource: Optional[str] = None,
        outcome: Optional[str] = None,
    ) -> List[Dict[str, Any]]:
        """Events matching every given filter (`resource` is a pattern like ``model:fraud-*``)."""
        return json.loads(self._l.query_json(principal, action, resource, outcome))

    def verify(self) -> Dict[str, Any]:
        """Checks the hash chain: ``{"clean": bool, "records": n, "broken": str | None}``."""
        clean, records, broken = self._l.verify()
        return {"clean": clean, "records": records, "broken": broken}
