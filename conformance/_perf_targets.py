"""Which requests performance and concurrency checks send, and as whom.

The platform's own routes (the core's ``/api/v1/me`` and another extension's
``/ping``) show what an extension costs everybody else; the extension's own
GET routes show what its users pay. A protected route is called as the seeded
user ``_routes`` picks, one the host admits, so its handler (not the 401) is what
gets timed.
"""

from __future__ import annotations

from dufflebag_harness.conformance._perf_client import Target
from dufflebag_harness.conformance._routes import calls, route_table
from dufflebag_harness.conformance._types import HostHandle


def own_get_targets(host: HostHandle, name: str) -> list[Target]:
    """The extension's GET routes a seeded user is admitted to (path parameters filled in)."""
    return [Target(c.label, c.method, c.path, c.role)
            for c in calls(route_table(host, name), ("GET",))]


def core_target() -> Target:
    """The core route every request-path cost lands on: the signed-in user's profile."""
    return Target("GET /api/v1/me", "GET", "/api/v1/me", "user")


def neighbour_target(other: str) -> Target:
    """A trivial route of another extension (a companion's ``/ping``)."""
    return Target(f"GET /ext/{other}/ping", "GET", f"/ext/{other}/ping", None)


__all__ = ["core_target", "neighbour_target", "own_get_targets"]
