"""Model registry and promotion (mlops-registry): models, versions with content-addressed
artifacts, aliases, the request → approve → promote workflow with four-eyes approvals, gate
reports, rollback, and the GitOps ``ModelDeployments`` export."""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import _mlops


@dataclass(frozen=True)
class Principal:
    """Who acts: a user, service account or group, with roles (e.g. ``release-manager``)."""

    id: str
    kind: str = "user"
    roles: List[str] = field(default_factory=list)
    groups: List[str] = field(default_factory=list)

    @classmethod
    def user(cls, id: str, roles: Optional[List[str]] = None) -> "Principal":
        return cls(id, "user", list(roles or []))

    @classmethod
    def service(cls, id: str, roles: Optional[List[str]] = None) -> "Principal":
        return cls(id, "service_account", list(roles or []))

    def _json(self) -> str:
        return json.dumps(asdict(self))


def gate_report(
    check: str,
    passed: bool,
    *,
    figures: Optional[Mapping[str, float]] = None,
    thresholds: Optional[Mapping[str, Tuple[str, float]]] = None,
    produced_by: str = "mlops-py",
    details: Optional[str] = None,
) -> Dict[str, Any]:
    """A gate report for :meth:`Registry.attach_report`; `thresholds` maps a figure to
    ``(op, value)`` with op one of ``<``, ``<=``, ``>``, ``>=``."""
    r: Dict[str, Any] = {
        "check": check,
        "passed": bool(passed),
        "figures": {k: float(v) for k, v in (figures or {}).items()},
        "thresholds": {k: {"op": op, "value": float(v)} for k, (op, v) in (thresholds or {}).items()},
        "produced_by": produced_by,
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
    if details is not None:
        r["details"] = details
    return r


class PromotionRequest(dict):
    """A handle on one promotion request (model, version, environment, id, requester)."""

    def _json(self) -> str:
        return json.dumps(dict(self))


class Registry:
    """A model registry over an object-store URL (``file:///srv/registry``, ``memory://``,
    ``s3://bucket/reg`` with ``options``). `environments`: the promotion environments as a
    dict (default development → qa (1 approval) → staging (2) → production (2 release-managers)).

    On ``file://``, ``options={"durability": ...}`` says how durable a change is when its call
    returns: ``"flush"`` (the default: flushed first), ``"deferred"`` / ``"deferred:<n>ms"``
    (visible and safe from a killed process at once, group-committed to disk within 100 ms or
    ``n`` ms; :meth:`flush` is the barrier; an OS crash may lose the last window, in order) or
    ``"off"``."""

    def __init__(
        self,
        uri: str,
        options: Optional[Mapping[str, str]] = None,
        environments: Optional[Any] = None,
    ) -> None:
        self._r = _mlops.Registry(
            uri,
            dict(options) if options else None,
            json.dumps(environments) if environments is not None else None,
        )

    @property
    def uri(self) -> str:
        return self._r.uri

    def flush(self) -> None:
        """Makes every change made so far durable (the barrier of ``durability="deferred"``)."""
        self._r.flush()

    def create_model(self, name: str) -> Dict[str, Any]:
        return json.loads(self._r.create_model_json(name))

    def ensure_model(self, name: str) -> Dict[str, Any]:
        return json.loads(self._r.ensure_model_json(name))

    def get_model(self, name: str) -> Dict[str, Any]:
        return json.loads(self._r.get_model_json(name))

    def create_version(
        self,
        name: str,
        creator: Principal,
        *,
        artifacts: Optional[Mapping[str, bytes]] = None,
        metrics: Optional[Mapping[str, float]] = None,
        tags: Optional[Mapping[str, str]] = None,
        description: Optional[str] = None,
        run: Optional[Tuple[str, str]] = None,
    ) -> Dict[str, Any]:
        """Registers version n+1. `run` = ``(tracking_uri, run_id)`` records lineage."""
        return json.loads(
            self._r.create_version_json(
                name,
                creator._json(),
                {k: bytes(v) for k, v in (artifacts or {}).items()},
                {k: float(v) for k, v in (metrics or {}).items()},
                {k: str(v) for k, v in (tags or {}).items()},
                description,
                run,
            )
        )

    def register_run(
        self, name: str, tracker: Any, run_id: str, creator: Principal, artifacts: List[str]
    ) -> Dict[str, Any]:
        """Registers a version from a tracking run: copies the run's `artifacts` and final
        metrics, and records the run as lineage. The model is created when absent."""
        r = tracker.get_run(run_id)
        self.ensure_model(name)
        return self.create_version(
            name,
            creator,
            artifacts={p: tracker.download_artifact(run_id, p) for p in artifacts},
            metrics={k: m["value"] for k, m in r["data"]["metrics"].items()},
            run=(tracker.uri, run_id),
        )

    def get_version(self, name: str, version: int) -> Dict[str, Any]:
        return json.loads(self._r.get_version_json(name, version))

    def get_artifact(self, name: str, version: int, path: str) -> bytes:
        return self._r.get_artifact(name, version, path)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        self._r.set_alias(name, alias, version)

    def resolve_alias(self, name: str, alias: str) -> Dict[str, Any]:
        return json.loads(self._r.resolve_alias_json(name, alias))

    def request_promotion(
        self, name: str, version: int, environment: str, requester: Principal, reason: str = ""
    ) -> PromotionRequest:
        return PromotionRequest(
            json.loads(self._r.request_json(name, version, environment, requester._json(), reason))
        )

    def approve(self, request: PromotionRequest, by: Principal, comment: str = "") -> None:
        """Approves; the requester cannot approve their own request (PermissionDeniedError)."""
        self._r.approve(request._json(), by._json(), comment)

    def reject(self, request: PromotionRequest, by: Principal, reason: str = "") -> None:
        self._r.reject(request._json(), by._json(), reason)

    def attach_report(self, request: PromotionRequest, report: Mapping[str, Any]) -> None:
        """Attaches a gate report (``mlops_core::GateReport`` as a dict)."""
        self._r.attach_report(request._json(), json.dumps(report))

    def promote(self, request: PromotionRequest, by: Principal) -> Dict[str, Any]:
        """Deploys once the environment's policy is met; raises otherwise."""
        return json.loads(self._r.promote_json(request._json(), by._json()))

    def rollback(self, name: str, environment: str, by: Principal, reason: str = "") -> Dict[str, Any]:
        return json.loads(self._r.rollback_json(name, environment, by._json(), reason))

    def deployed(self, name: str, environment: str) -> Optional[Dict[str, Any]]:
        return json.loads(self._r.deployed_json(name, environment))

    def export_deployments(self, environment: str) -> str:
        """The ``ModelDeployments`` YAML of `environment` (for GitOps)."""
        return self._r.export_deployments(environment)
