"""The check context the runner hands each check (parent side).

A check talks to hosts the worker runs, over loopback HTTP, and judges what it
sees here in the parent. Anything only the worker can see comes through
:meth:`RunContext.probe` and marks the result self-reported.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance import CheckFailed, CheckSkipped
from harness.loader import Manifest
from harness.runner.backends import Backends
from harness.worker.client import WorkerClient, WorkerOpError

#: Seeded users every host gets; the parent knows their tokens, the checks use them.
SEED_ROLES: dict[str, tuple[int, tuple[str, ...]]] = {
    "admin": (1, ("admin",)),
    "manager": (2, ("manager",)),
    "user": (3, ("user",)),
    "deleted": (4, ("deleted", "admin", "manager", "user")),
    "outsider": (5, ()),
}


class HostStartError(Exception):
    """The worker could not start a host (an environment or harness problem)."""


def _raise_import_failure(exc: WorkerOpError) -> None:
    """An extension that cannot be imported fails the check (it is not a harness error)."""
    if exc.kind == "ExtensionImportError":
        raise CheckFailed(f"the extension could not be imported: {exc.message}",
                          {"import_error": exc.message})


@dataclass
class RemoteHost:
    """A host running in the worker, reached over 127.0.0.1."""

    host_id: str
    base_url: str
    tokens: Mapping[str, str]
    load_errors: Mapping[str, str]
    client: httpx.Client
    _worker: WorkerClient
    _release: Callable[[], None] = lambda: None
    closed: bool = False

    def request(
        self, method: str, path: str, *, as_role: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if as_role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[as_role]}"
        return self.client.request(method, path, headers=headers, **kwargs)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.client.close()
        try:
            if not self._worker.dead:
                self._worker.call("host.stop", host_id=self.host_id, timeout=60)
        finally:
            self._release()


@dataclass
class RunContext:
    """Implements :class:`conformance.CheckContext` for one (check, backend) pair."""

    check_id: str
    backend: str
    profile: str
    seed: int
    extension: str
    manifest: Manifest
    worker: WorkerClient
    backends: Backends
    companion_names: Sequence[str] = ()
    figures: dict[str, Any] = field(default_factory=dict)
    self_reported: bool = False
    hosts: list[RemoteHost] = field(default_factory=list)
    http_timeout_s: float = 20.0

    def host(
        self,
        *,
        extensions: Sequence[str] | None = None,
        config: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        faults: Mapping[str, str] | None = None,
    ) -> RemoteHost:
        reason = self.backends.unavailable().get(self.backend)
        if reason:
            raise CheckSkipped(reason)
        names = list(extensions) if extensions is not None else [self.extension]
        database = self.backends.host_database(self.backend, names)
        tokens = {role: secrets.token_urlsafe(24) for role in SEED_ROLES}
        users = [
            {"id": uid, "username": f"{role}_user", "roles": list(roles), "token": tokens[role]}
            for role, (uid, roles) in SEED_ROLES.items()
        ]
        try:
            started = self.worker.call(
                "host.start", extensions=names, database=database, users=users,
                config=dict(config or {}), options=dict(options or {}),
                faults=dict(faults or {}),
            )
        except WorkerOpError as exc:
            self.backends.release(database)
            _raise_import_failure(exc)
            raise HostStartError(f"host did not start: {exc.message}") from None
        base_url = f"http://127.0.0.1:{started['port']}"
        client = httpx.Client(base_url=base_url, timeout=self.http_timeout_s)
        remote = RemoteHost(
            host_id=str(started["host_id"]), base_url=base_url, tokens=tokens,
            load_errors=dict(started.get("load_errors") or {}), client=client,
            _worker=self.worker, _release=lambda: self.backends.release(database),
        )
        self.hosts.append(remote)
        return remote

    def probe(self, op: str, **args: Any) -> dict[str, Any]:
        self.self_reported = True
        try:
            return self.worker.call("probe", op=op, **args)
        except WorkerOpError as exc:
            _raise_import_failure(exc)
            raise

    def figure(self, key: str, value: Any) -> None:
        self.figures[key] = value

    def companions(self, count: int) -> list[str]:
        if count > len(self.companion_names):
            raise CheckSkipped(
                f"needs {count} companion extensions, {len(self.companion_names)} available"
            )
        return list(self.companion_names[:count])

    def close(self) -> None:
        for remote in self.hosts:
            with contextlib.suppress(Exception):
                remote.close()
        self.hosts.clear()
