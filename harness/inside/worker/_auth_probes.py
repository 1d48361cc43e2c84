"""Auth probes: the users a running host holds, its audit trail, and whether the auth
service an extension was handed can write anything.

Both look into a host the parent started (``host_id``); the parent compares
what they report with what it saw over HTTP and with a bare host.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dufflebag_harness.inside.worker._probe_hosts import probe_host

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["PROBES", "WRITE_ATTEMPTS"]

#: Writes a read-only auth service must refuse, with plausible arguments.
WRITE_ATTEMPTS: dict[str, tuple[Any, ...]] = {
    "create_user": ("probe_created", "probe@example.org", "probe-password-1"),
    "delete_user": (3,),
    "update_user": (3, {"roles": ["admin"]}),
    "set_roles": (3, ["admin"]),
    "add_role": (3, "admin"),
    "remove_role": (1, "admin"),
    "grant_role": (3, "admin"),
    "revoke_role": (1, "admin"),
    "issue_token": (3,),
}
#: What :class:`dufflebag_harness.sdk.AuthService` offers; anything else public is suspect.
READ_METHODS = frozenset({"get_user", "validate_token", "check_permission", "has_role"})


def _users(host: Any) -> list[dict[str, Any]]:
    store = host._state.store
    users = [store.get(uid) for uid in sorted(store._users)]
    return [{"id": u.id, "username": u.username, "roles": sorted(u.roles)}
            for u in users if u is not None]


def _attempt(service: Any) -> dict[str, str]:
    """Call each write on ``service``; a refusal is the exception's type name."""
    out: dict[str, str] = {}
    for name, args in WRITE_ATTEMPTS.items():
        method = getattr(service, name, None)
        if method is None:
            out[name] = "absent"
            continue
        try:
            result = method(*args)
            if inspect.isawaitable(result):
                close = getattr(result, "close", None)
                out[name] = "coroutine (not awaited)"
                if callable(close):
                    close()
                continue
            out[name] = "succeeded"
        except Exception as exc:
            out[name] = f"refused: {type(exc).__name__}"
    return out


def _frozen_user(service: Any, host: Any) -> str:
    """Whether a user the service returns can be changed in place."""
    store = host._state.store
    user = store.get(min(store._users)) if store._users else None
    if user is None:
        return "no user"
    try:
        user.roles = frozenset({"admin"})
    except Exception as exc:
        return f"refused: {type(exc).__name__}"
    return "succeeded"


def probe_readonly(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Users of the host and the auth services the extension was handed and holds.

    With ``attempt_writes`` the probe also tries to create, delete and re-role
    users through those services (the parent asks last, when it has compared
    users already) and reports the users afterwards.
    """
    running = probe_host(server, args)
    host = running.host
    out: dict[str, Any] = {"users": _users(host), "services": {}}
    name = args.get("extension")
    record = host._state.records.get(name) if isinstance(name, str) else None
    if record is None or record.services is None:
        return out
    held = getattr(getattr(record.extension, "services", None), "auth", None)
    for label, service in (("handed", record.services.auth), ("held", held)):
        if service is None:
            continue
        public = sorted(n for n in dir(service) if not n.startswith("_")
                        and callable(getattr(service, n, None)))
        entry: dict[str, Any] = {
            "type": f"{type(service).__module__}.{type(service).__qualname__}",
            "extra_methods": [n for n in public if n not in READ_METHODS],
        }
        if args.get("attempt_writes"):
            entry["writes"] = _attempt(service)
            entry["user_object"] = _frozen_user(service, host)
        out["services"][label] = entry
    if args.get("attempt_writes"):
        out["users_after_writes"] = _users(host)
    return out


def probe_audit(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Audit entries of a running host from index ``since`` (at most ``limit``)."""
    running = probe_host(server, args)
    log = list(running.host.audit_log)
    since = max(0, int(args.get("since", 0)))
    limit = max(1, min(int(args.get("limit", 50)), 200))
    return {"count": len(log), "entries": [e.to_json() for e in log[since:since + limit]]}


PROBES: dict[str, Callable[[WorkerServer, dict[str, Any]], dict[str, Any]]] = {
    "auth.users": probe_readonly,
    "auth.audit": probe_audit,
}
