"""FZ, the driver: schemathesis against a host in the worker, over loopback, from the parent.

The host's own OpenAPI document is fetched over HTTP and cut down to the
extension's operations (``/ext/{name}/...``); schemathesis' engine (examples,
coverage and fuzzing phases; no stateful phase, no example database, no cache)
then calls each operation with the bearer token of the seeded user ``_routes``
picks for it (one the route admits; ``admin``, who is refused 403 — a documented
answer — when none is). Which schemathesis checks run is the caller's choice; this module only
collects what happened: cases, failures (with a curl line) and the status codes
seen per operation.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dufflebag_harness.conformance._loopback import loopback_client
from dufflebag_harness.conformance._routes import operation_route

__all__ = [
    "FuzzFailure",
    "FuzzRun",
    "Operation",
    "author_documents_success",
    "documented",
    "extension_document",
    "operations",
    "run_fuzz",
]

@dataclass(frozen=True)
class Operation:
    """One documented operation of the extension, as the host's document lists it."""

    method: str
    path: str
    operation_id: str
    role: str | None
    responses: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class FuzzFailure:
    """A failed schemathesis check on one generated request."""

    operation: str
    check: str
    title: str
    message: str
    status: int | None
    curl: str

    def to_json(self) -> dict[str, Any]:
        return {"operation": self.operation, "check": self.check, "title": self.title,
                "message": self.message[:400], "status": self.status, "curl": self.curl[:600]}


@dataclass
class FuzzRun:
    """What one engine run did: per operation the statuses seen, and every failure."""

    cases: int = 0
    failures: list[FuzzFailure] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    statuses: dict[str, set[int]] = field(default_factory=dict)


def extension_document(base_url: str, name: str, *, timeout: float = 20.0) -> dict[str, Any]:
    """The host's OpenAPI document with only the paths under ``/ext/{name}/``."""
    with loopback_client(timeout=timeout) as client:
        r = client.get(f"{base_url}/openapi.json")
    r.raise_for_status()
    doc: dict[str, Any] = r.json()
    prefix = f"/ext/{name}/"
    doc["paths"] = {p: item for p, item in (doc.get("paths") or {}).items()
                    if p.startswith(prefix)}
    return doc


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def operations(doc: Mapping[str, Any]) -> list[Operation]:
    out = []
    for path, item in sorted((doc.get("paths") or {}).items()):
        for method, op in item.items():
            if method in _METHODS and isinstance(op, Mapping):
                role = operation_route(path, method, op).role
                out.append(Operation(method.upper(), path, str(op.get("operationId", "")),
                                     role, dict(op.get("responses") or {})))
    return out


def _config(
    base_url: str, ops: Sequence[Operation], tokens: Mapping[str, str], *, checks: Sequence[str],
    max_examples: int, seed: int, request_timeout: float, rate_limit: int,
) -> Any:
    import schemathesis

    per_op = [
        {"include-operation-id": op.operation_id,
         "headers": {"Authorization": f"Bearer {tokens[op.role]}"}}
        for op in ops if op.role is not None and op.operation_id
    ]
    throttle = {"rate-limit": f"{rate_limit}/s"} if rate_limit > 0 else {}
    return schemathesis.Config.from_dict({
        **throttle,
        "seed": seed,
        "base-url": base_url,
        "request-timeout": request_timeout,
        "cache": {"enabled": False},
        # health checks judge the generator (slow or filtered data), not the extension
        "suppress-health-check": ["all"],
        "generation": {"max-examples": max_examples, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in checks}},
        "operations": per_op,
    })


def run_fuzz(
    base_url: str, doc: Mapping[str, Any], tokens: Mapping[str, str], *, checks: Sequence[str],
    max_examples: int, seed: int, request_timeout: float = 30.0, rate_limit: int = 0,
) -> FuzzRun:
    """Run the engine on ``doc`` against ``base_url`` with the named schemathesis checks.

    ``rate_limit`` (requests per second, 0: none) keeps the fuzzer under the
    extension's own quota, so its handlers are exercised rather than the host's 429.
    """
    ops = operations(doc)
    with _private_hypothesis_home():
        return _execute(base_url, doc, ops, tokens, checks=checks, max_examples=max_examples,
                        seed=seed, request_timeout=request_timeout, rate_limit=rate_limit)


class _PrivateHypothesisHome:
    """Hypothesis keeps caches in ``./.hypothesis``: certifying must not write into the
    author's working directory, so its home is a temporary folder while fuzzing runs.

    Its home is one setting for the whole process, and two fuzz checks may run at once
    on two lanes: the first to enter makes the folder and sets it, the last to leave
    sets the previous home back and removes the folder. (Each restoring what it saw
    would leave Hypothesis writing into a folder the other had already removed.)"""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._previous: Any = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        from hypothesis import configuration

        with self._lock:
            if self._users == 0:
                self._previous = configuration.storage_directory(
                    intent_to_write=False).home_directory
                self._folder = tempfile.TemporaryDirectory(prefix="dbh-hypothesis-")
                configuration.set_hypothesis_home_dir(self._folder.name)
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._folder is not None:
                    configuration.set_hypothesis_home_dir(self._previous)
                    self._folder.cleanup()
                    self._folder = None


_private_hypothesis_home = _PrivateHypothesisHome()


def _execute(
    base_url: str, doc: Mapping[str, Any], ops: Sequence[Operation], tokens: Mapping[str, str],
    *, checks: Sequence[str], max_examples: int, seed: int, request_timeout: float,
    rate_limit: int,
) -> FuzzRun:
    import schemathesis
    from schemathesis.engine import events, from_schema

    config = _config(base_url, ops, tokens, checks=checks, max_examples=max_examples,
                     seed=seed, request_timeout=request_timeout, rate_limit=rate_limit)
    schema = schemathesis.openapi.from_dict(dict(doc), config=config)
    out = FuzzRun(statuses={op.label: set() for op in ops})
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            _collect(event, out)
        elif isinstance(event, events.NonFatalError):
            out.errors.append(f"{event.label}: {_error_text(event)}")
        elif isinstance(event, events.FatalError):
            raise RuntimeError(f"schemathesis stopped: {event.exception}")
    return out


def _error_text(event: Any) -> str:
    info = getattr(event, "info", None)
    title = getattr(info, "title", "") or type(getattr(event, "value", None)).__name__
    message = getattr(info, "message", "") or str(getattr(event, "value", ""))
    return f"{title}: {message}"[:500]


def _collect(event: Any, out: FuzzRun) -> None:
    recorder = event.recorder
    out.cases += len(recorder.cases)
    seen = out.statuses.setdefault(str(event.label), set())
    for interaction in recorder.interactions.values():
        if interaction.response is not None:
            seen.add(int(interaction.response.status_code))
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.failure_info is None:
                continue
            failure = node.failure_info.failure
            interaction = recorder.interactions.get(failure.case_id or case_id)
            response = getattr(interaction, "response", None)
            out.failures.append(FuzzFailure(
                operation=str(event.label), check=str(node.name), title=str(failure.title),
                message=str(failure.message), curl=str(node.failure_info.code_sample),
                status=int(response.status_code) if response is not None else None,
            ))


def documented(op: Operation, status: int) -> bool:
    """Whether ``status`` is one of the operation's documented responses (or ranges)."""
    keys = {str(k).upper() for k in op.responses}
    return "DEFAULT" in keys or str(status) in keys or f"{str(status)[0]}XX" in keys


def author_documents_success(op: Operation) -> bool:
    """Whether the author documented success answers (the host's bare ``200: OK`` aside)."""
    success = {str(k): v for k, v in op.responses.items() if str(k).upper().startswith("2")}
    if not success:
        return False
    return success != {"200": {"description": "OK"}}

