"""Exercising an extension through a host: every route, the core around it, the API.

Runtime checks (capability use, secrets in logs, config leaks) can only judge
what the extension did while the harness drove it. This drives it the same way
for all of them: each registered route as the role ``_routes`` picks (and
without credentials), the core requests its hooks may wrap, the management API,
an unregistered path under its prefix, and a disable/enable round trip. Routes
no seeded user is admitted to are sent too: nothing here judges an answer, and
the extension's middleware and hooks run in front of the host's refusal.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx

from dufflebag_harness.conformance._probing import MGMT, require_loaded
from dufflebag_harness.conformance._routes import Call, calls, route_table
from dufflebag_harness.conformance._types import CheckContext, HostHandle

__all__ = ["Exercise", "exercise", "host_id", "monitor_usage"]


def host_id(host: HostHandle) -> str:
    """The worker's id of ``host`` (probes that look inside a running host need it)."""
    value = getattr(host, "host_id", None)
    if not isinstance(value, str) or not value:
        raise RuntimeError("this host handle has no host_id; host probes need one")
    return value


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
    sent = {"method": method, "path": path, "as": role}
    try:
        response = host.request(method, path, as_role=role, **kwargs)
    except httpx.HTTPError as exc:
        out.requests.append({**sent, "status": f"{type(exc).__name__}"})
        out.bodies.append("")
        return None
    out.requests.append({**sent, "status": response.status_code})
    out.bodies.append("\n".join(f"{k}: {v}" for k, v in response.headers.items())
                      + "\n\n" + response.text[:20000])
    return response


def _request(host: HostHandle, out: Exercise, call: Call) -> None:
    """One of the extension's requests, recorded like the rest."""
    _send(host, out, call.method, call.path, call.role, **call.body())


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
    targets = calls(route_table(host, name), refused_too=True)
    for call in targets:
        _request(host, out, call)
        if call.role is not None:
            _request(host, out, call.as_role(None))
    _send(host, out, "GET", f"/ext/{name}/dbh-unregistered-probe", "user")
    _core(host, out)
    _management(host, out, name)
    for call in targets[:3]:  # once more after the re-enable
        _request(host, out, call)
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
