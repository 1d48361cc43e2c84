"""Exercising an extension through a host: every route, the core around it, the API.

Runtime checks (capability use, secrets in logs, config leaks) can only judge
what the extension did while the harness drove it. This drives it the same way
for all of them: each registered route with a role it admits (and without
credentials), the core requests its hooks may wrap, the management API, an
unregistered path under its prefix, and a disable/enable round trip.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from dufflebag_harness.conformance._probing import MGMT, concrete, details, require_loaded, routes
from dufflebag_harness.conformance._types import CheckContext, HostHandle

__all__ = ["Exercise", "admitted_role", "callable_routes", "exercise", "host_id", "monitor_usage"]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_CORE = ("admin", "manager", "user")


def host_id(host: HostHandle) -> str:
    """The worker's id of ``host`` (probes that look inside a running host need it)."""
    value = getattr(host, "host_id", None)
    if not isinstance(value, str) or not value:
        raise RuntimeError("this host handle has no host_id; host probes need one")
    return value


def admitted_role(route: Mapping[str, Any]) -> str | None:
    """A seeded role the route admits (``None``: open route); ``""`` if no seeded user fits."""
    if not (route.get("auth") or route.get("roles")):
        return None
    roles = list(route.get("roles") or [])
    if not roles:
        return "user"
    return next((r for r in _CORE if r in roles), "")


def callable_routes(host: HostHandle, name: str) -> list[tuple[str, str, str | None]]:
    """(method, concrete path, role) for every route a seeded user can call."""
    out = []
    for route in routes(details(host, name), name):
        role = admitted_role(route)
        if role == "":
            continue
        for method in route["methods"]:
            if method in _METHODS:
                out.append((method, concrete(route["full_path"]), role))
    return out


@dataclass
class Exercise:
    """What was sent and what came back (status codes), plus secrets the harness used."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    password: str = ""
    login_token: str = ""
    bodies: list[str] = field(default_factory=list)

    def summary(self, limit: int = 40) -> list[str]:
        return [f"{r['method']} {r['path']} → {r['status']}" for r in self.requests[:limit]]


def _send(host: HostHandle, out: Exercise, method: str, path: str, role: str | None,
          **kwargs: Any) -> httpx.Response | None:
    try:
        response = host.request(method, path, as_role=role, **kwargs)
    except httpx.HTTPError as exc:
        out.requests.append({"method": method, "path": path, "as": role,
                             "status": f"{type(exc).__name__}"})
        out.bodies.append("")
        return None
    out.requests.append({"method": method, "path": path, "as": role,
                         "status": response.status_code})
    out.bodies.append("\n".join(f"{k}: {v}" for k, v in response.headers.items())
                      + "\n\n" + response.text[:20000])
    return response


def _core(host: HostHandle, out: Exercise) -> None:
    """Core requests: hooks around signup, login, me, upload and download fire here."""
    username = "dbh_" + secrets.token_hex(4)
    out.password = "pw-" + secrets.token_urlsafe(12)
    credentials = {"username": username, "password": out.password,
                   "email": f"{username}@example.org"}
    _send(host, out, "POST", "/api/v1/auth/signup", None, json=credentials)
    login = _send(host, out, "POST", "/api/v1/auth/login", None,
                  json={"username": username, "password": out.password})
    if login is not None and login.status_code == 200:
        try:
            token = login.json().get("token", "")
        except ValueError:
            token = ""
        out.login_token = token if isinstance(token, str) else ""
    _send(host, out, "GET", "/api/v1/me", "user")
    _send(host, out, "PUT", "/api/v1/storage/dbh-exercise.txt", "user", content=b"exercise")
    _send(host, out, "GET", "/api/v1/storage/dbh-exercise.txt", "user")
    _send(host, out, "GET", "/healthz", None)


def _management(host: HostHandle, out: Exercise, name: str) -> None:
    for suffix in ("", "/health", "/metrics", "/config"):
        _send(host, out, "GET", f"{MGMT}/{name}{suffix}", "admin")
    for action in ("disable", "enable"):
        _send(host, out, "POST", f"{MGMT}/{name}/{action}", "admin")


def exercise(host: HostHandle, name: str) -> Exercise:
    """Drive ``name`` in ``host`` the way every runtime check does; returns what happened."""
    out = Exercise()
    targets = callable_routes(host, name)
    for method, path, role in targets:
        body: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
        _send(host, out, method, path, role, **body)
        if role is not None:
            _send(host, out, method, path, None, **body)
    _send(host, out, "GET", f"/ext/{name}/dbh-unregistered-probe", "user")
    _core(host, out)
    _management(host, out, name)
    for method, path, role in targets[:3]:  # once more after the re-enable
        _send(host, out, method, path, role)
    return out


def monitor_usage(ctx: CheckContext) -> tuple[dict[str, Any], list[str]]:
    """Exercise the extension in a fresh host inside a monitor window; return the report.

    The host is closed before the report, so ``stop()`` is inside the window too.
    """
    began = ctx.probe("monitor.begin")
    if not began.get("installed"):
        raise RuntimeError("the worker has no capability monitor installed")
    host = ctx.host()
    require_loaded(host, ctx.extension)
    done = exercise(host, ctx.extension)
    host.close()
    report = ctx.probe("monitor.report", extension=ctx.extension)
    if not report.get("installed"):
        raise RuntimeError("the worker's capability monitor went away")
    return report, done.summary(20)
