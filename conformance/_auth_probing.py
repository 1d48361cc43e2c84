"""Helpers of the AU checks: who the seeded users are, as the core sees them."""

from __future__ import annotations

from typing import Any

from dufflebag_harness.conformance._types import CheckFailed, HostHandle

#: Seeded roles (plus anonymous, ``None``) that exercise an extension's routes.
ACTORS: tuple[str | None, ...] = ("admin", "manager", "user", "outsider", "deleted", None)


def host_id(host: HostHandle) -> str:
    """The worker's id of ``host``, which host probes need."""
    value = getattr(host, "host_id", None)
    if not isinstance(value, str) or not value:
        raise RuntimeError("this host handle has no host_id; host probes need one")
    return value


def who(host: HostHandle) -> dict[str, Any]:
    """``GET /api/v1/me`` as every seeded role: status and the user as the core sees it."""
    out: dict[str, Any] = {}
    for role in ACTORS:
        if role is None:
            continue
        r = host.request("GET", "/api/v1/me", as_role=role)
        body: Any = None
        if r.headers.get("content-type", "").startswith("application/json"):
            body = r.json()
        out[role] = {"status": r.status_code, "user": body}
    return out


def user_ids(host: HostHandle) -> dict[str, int]:
    """Seeded role → the id of its user (from the core, not from the extension)."""
    out = {}
    for role, seen in who(host).items():
        user = seen.get("user")
        if seen["status"] == 200 and isinstance(user, dict) and isinstance(user.get("id"), int):
            out[role] = int(user["id"])
    if "user" not in out:
        raise CheckFailed("the core did not answer GET /api/v1/me for the seeded user",
                          {"seen": who(host)})
    return out
