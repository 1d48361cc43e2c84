"""AU — authentication and roles on the extension's protected routes.

A protected route is one registered with ``auth=True`` or ``roles=(...)``: the
extension's own claim, listed by the host. These checks hold it to that claim
end to end, whatever middleware or hooks the extension adds in front.
"""

from __future__ import annotations

from typing import Any

from conformance._probing import concrete, details, protected_routes, require_loaded
from conformance._registry import check
from conformance._types import REQUIRED, CheckContext, CheckFailed, HostHandle

CORE = ("admin", "manager", "user")


def _admitted_role(route: dict[str, Any]) -> str | None:
    roles = list(route.get("roles") or [])
    if not roles:
        return "user"
    for role in CORE:
        if role in roles:
            return role
    return None  # only extension-defined roles: no seeded user has them


def _wrong_roles(route: dict[str, Any]) -> list[str]:
    roles = set(route.get("roles") or [])
    if not roles:
        return []
    return [r for r in CORE if r not in roles] + ["outsider"]


def _targets(ctx: CheckContext) -> tuple[HostHandle, list[dict[str, Any]]]:
    host = ctx.host()
    require_loaded(host, ctx.extension)
    return host, protected_routes(details(host, ctx.extension), ctx.extension)


def _prime(host: HostHandle, route: dict[str, Any], method: str) -> None:
    """Make one admitted request first, so caches an extension keeps are warm."""
    role = _admitted_role(route)
    if role:
        host.request(method, concrete(route["full_path"]), as_role=role)


def _methods(route: dict[str, Any]) -> list[str]:
    return [m for m in route["methods"] if m in ("GET", "POST", "PUT", "PATCH", "DELETE")]


@check(id="AU-01", title="Protected routes refuse anonymous requests (401)",
       requires=("REQ-5.1", "REQ-5.3"), severity=REQUIRED)
def anonymous_refused(ctx: CheckContext) -> None:
    """Let the host authenticate: register protected routes with `auth=True`/`roles=`,
    and never answer them from a middleware, cache or hook before the host's check."""
    host, targets = _targets(ctx)
    bad = []
    for route in targets:
        for method in _methods(route):
            _prime(host, route, method)
            path = concrete(route["full_path"])
            for label, headers in (("anonymous", {}),
                                   ("invalid token", {"Authorization": "Bearer not-a-token"})):
                r = host.request(method, path, headers=headers)
                if r.status_code != 401:
                    bad.append({"route": f"{method} {route['full_path']}", "as": label,
                                "status": r.status_code, "body": r.text[:200]})
    ctx.figure("protected_routes", len(targets))
    if bad:
        raise CheckFailed(f"{len(bad)} protected request(s) without valid credentials were not "
                          f"refused with 401 (e.g. {bad[0]['route']} as {bad[0]['as']} → "
                          f"{bad[0]['status']})", {"requests": bad})


@check(id="AU-02", title="Wrong roles get 403; deleted users are never admitted",
       requires=("REQ-5.2",), severity=REQUIRED)
def wrong_role_and_deleted_refused(ctx: CheckContext) -> None:
    """Require roles with `roles=(...)` on the route; don't re-implement role checks in
    middleware, and never treat a `deleted` user as active."""
    host, targets = _targets(ctx)
    bad = []
    for route in targets:
        for method in _methods(route):
            _prime(host, route, method)
            path = concrete(route["full_path"])
            for role in [*_wrong_roles(route), "deleted"]:
                r = host.request(method, path, as_role=role)
                if r.status_code not in (401, 403):
                    bad.append({"route": f"{method} {route['full_path']}", "as": role,
                                "status": r.status_code, "body": r.text[:200]})
    if bad:
        raise CheckFailed(f"{len(bad)} request(s) with a wrong role or a deleted user were "
                          f"admitted (e.g. {bad[0]['route']} as {bad[0]['as']} → "
                          f"{bad[0]['status']})", {"requests": bad})


@check(id="AU-03", title="Protected routes admit users with the right role",
       requires=("REQ-5.2", "REQ-5.5"), severity=REQUIRED)
def right_role_admitted(ctx: CheckContext) -> None:
    """Rely on the roles you declared; don't add a second, stricter check in the handler
    (role names are lower-case: admin, manager, user)."""
    host, targets = _targets(ctx)
    bad = []
    for route in targets:
        role = _admitted_role(route)
        if role is None:
            continue
        for method in _methods(route):
            r = host.request(method, concrete(route["full_path"]), as_role=role)
            if r.status_code in (401, 403):
                bad.append({"route": f"{method} {route['full_path']}", "as": role,
                            "status": r.status_code, "body": r.text[:200]})
    if bad:
        raise CheckFailed(f"{len(bad)} request(s) with a declared role were refused "
                          f"(e.g. {bad[0]['route']} as {bad[0]['as']} → {bad[0]['status']})",
                          {"requests": bad})
