"""Which requests performance and concurrency checks send, and as whom.

The platform's own routes (the core's ``/api/v1/me`` and another extension's
``/ping``) show what an extension costs everybody else; the extension's own
GET routes show what its users pay. A protected route is called as a seeded
user the host admits, so its handler (not the 401) is what gets timed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.conformance._perf_client import Target
from dufflebag_harness.conformance._probing import concrete, details, routes
from dufflebag_harness.conformance._types import HostHandle

#: Seeded roles, most privileged first: ``admin`` holds every permission an extension defines.
_ROLES = ("admin", "manager", "user")


def role_for(route: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(callable, role): the seeded role to call ``route`` as (``None``: anonymous);
    not callable when only roles the extension defines are admitted."""
    roles = [str(r) for r in route.get("roles") or []]
    if route.get("permission"):
        return True, "admin"
    if roles:
        role = next((r for r in _ROLES if r in roles), None)
        return role is not None, role
    if route.get("auth"):
        return True, "user"
    return True, None


def own_get_targets(host: HostHandle, name: str) -> list[Target]:
    """The extension's GET routes a seeded user can call (path parameters filled in)."""
    out: list[Target] = []
    for route in routes(details(host, name), name):
        if "GET" not in route["methods"]:
            continue
        callable_, role = role_for(route)
        if not callable_:
            continue  # only an extension-defined role may call it
        path = concrete(str(route["full_path"]))
        out.append(Target(f"GET {path}", "GET", path, role))
    return out


def core_target() -> Target:
    """The core route every request-path cost lands on: the signed-in user's profile."""
    return Target("GET /api/v1/me", "GET", "/api/v1/me", "user")


def neighbour_target(other: str) -> Target:
    """A trivial route of another extension (a companion's ``/ping``)."""
    return Target(f"GET /ext/{other}/ping", "GET", f"/ext/{other}/ping", None)


__all__ = ["core_target", "neighbour_target", "own_get_targets", "role_for"]
