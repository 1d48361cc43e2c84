"""Types every check uses: severity, status, the check spec, failures, results.

Frozen at version 0 (see ARCHITECTURE.md); later versions only add fields.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import httpx

    from harness.loader import Manifest

BACKENDS = ("mock", "sqlite", "postgresql")


class Severity(enum.StrEnum):
    """Required checks decide the level; advisory ones are only listed."""

    REQUIRED = "required"
    ADVISORY = "advisory"


REQUIRED = Severity.REQUIRED
ADVISORY = Severity.ADVISORY


class Status(enum.StrEnum):
    """Outcome of one (check, backend) pair. Only ``pass`` counts as passed."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    FLAKY = "flaky"


class CheckFailed(AssertionError):
    """Raised by a check when the extension violates it; carries evidence."""

    def __init__(self, reason: str, evidence: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.evidence = dict(evidence or {})


class CheckSkipped(Exception):
    """Raised when a check cannot run here (e.g. no PostgreSQL); never a pass."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HostHandle(Protocol):
    """A fresh reference host, running in the worker, reached over loopback.

    ``tokens`` maps a role name (``admin``, ``manager``, ``user``, ``deleted``,
    ``outsider`` — a user with no role) to a bearer token of a seeded user.
    """

    base_url: str
    tokens: Mapping[str, str]
    load_errors: Mapping[str, str]

    def request(
        self, method: str, path: str, *, as_role: str | None = None, **kwargs: Any
    ) -> httpx.Response: ...
    def close(self) -> None: ...


class CheckContext(Protocol):
    """What the runner gives a check. Checks run in the parent process.

    ``host()`` starts a fresh host in the worker (closed when the check ends);
    ``faults`` maps extension names to a fault the worker injects
    (``handler_exception`` or ``initialize_exception``).
    ``probe()`` runs an in-process probe in the worker; using it marks the result
    ``self_reported``. ``figure()`` records a measured figure for the report.
    """

    check_id: str
    backend: str
    profile: str
    seed: int
    extension: str
    manifest: Manifest

    def host(
        self,
        *,
        extensions: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        faults: Mapping[str, str] | None = None,
    ) -> HostHandle: ...
    def probe(self, op: str, **args: Any) -> dict[str, Any]: ...
    def figure(self, key: str, value: Any) -> None: ...
    def companions(self, count: int) -> list[str]: ...


CheckFunc = Callable[[CheckContext], None]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check. ``id`` is stable (``AREA-NN``); reports cite it."""

    id: str
    title: str
    requires: tuple[str, ...]
    severity: Severity
    backends: tuple[str, ...]
    func: CheckFunc
    fix: str = ""
    blocked_by: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ("full", "quick")

    @property
    def area(self) -> str:
        return self.id.split("-", 1)[0]

    def pairs(self) -> list[str]:
        return [f"{self.id}@{b}" for b in self.backends]


@dataclass
class CheckResult:
    """Outcome of one (check, backend) pair, as it goes into the report."""

    check: str
    backend: str
    status: Status
    severity: Severity
    title: str = ""
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    self_reported: bool = False
    attempts: int = 1

    @property
    def pair(self) -> str:
        return f"{self.check}@{self.backend}"

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "backend": self.backend,
            "status": self.status.value,
            "severity": self.severity.value,
            "title": self.title,
            "reason": self.reason,
            "evidence": self.evidence,
            "duration_s": round(self.duration_s, 4),
            "self_reported": self.self_reported,
            "attempts": self.attempts,
        }


def parse_pairs(items: Sequence[str], specs: Mapping[str, CheckSpec]) -> set[str]:
    """Expand ``["RT-02", "IS-01@postgresql"]``: a bare ID means all its backends."""
    out: set[str] = set()
    for item in items:
        check_id, _, backend = item.partition("@")
        if check_id not in specs:
            raise KeyError(f"unknown check {check_id!r}")
        spec = specs[check_id]
        if backend:
            if backend not in spec.backends:
                raise KeyError(f"check {check_id} does not run on backend {backend!r}")
            out.add(f"{check_id}@{backend}")
        else:
            out.update(spec.pairs())
    return out
