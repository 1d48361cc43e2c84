"""AU — authentication and roles on the extension's protected routes; users left alone;
actions audited.

A protected route is one registered with ``auth=True``, ``roles=(...)`` or a
``permission``: the extension's own claim, listed by the host. These checks hold
it to that claim end to end, whatever middleware or hooks the extension adds in
front; which seeded user the host must admit or refuse is ``_routes``' rule. The
users and roles the core keeps must look the same with the extension as
without it, and every state-changing request it serves leaves an audit entry
naming the user who made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dufflebag_harness.conformance._auth_probing import ACTORS, host_id, user_ids, who
from dufflebag_harness.conformance._probing import require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import (
    MUTATING_METHODS,
    Call,
    Route,
    calls,
    route_table,
)
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed, HostHandle


def _targets(ctx: CheckContext) -> tuple[HostHandle, list[Route]]:
    host = ctx.host()
    require_loaded(host, ctx.extension)
    return host, [r for r in route_table(host, ctx.extension) if r.protected]


def _primed(host: HostHandle, route: Route) -> Iterator[Call]:
    """Each method of ``route``, sent once as an admitted user before it is yielded, so
    caches an extension keeps are warm when the requests that must be refused follow."""
    for call in route.calls(refused_too=True):
        if route.admitted:
            call.send(host)
        yield call


@check(id="AU-01", title="Protected routes refuse anonymous requests (401)",
       requires=("REQ-5.1", "REQ-5.3"), severity=REQUIRED)
def anonymous_refused(ctx: CheckContext) -> None:
    """Let the host authenticate: register protected routes with `auth=True`/`roles=`,
    and never answer them from a middleware, cache or hook before the host's check."""
    host, targets = _targets(ctx)
    bad = []
    for route in targets:
        for call in _primed(host, route):
            for label, headers in (("anonymous", {}),
                                   ("invalid token", {"Authorization": "Bearer not-a-token"})):
                r = call.as_role(None).send(host, headers=headers)
                if r.status_code != 401:
                    bad.append({"route": f"{call.method} {route.template}", "as": label,
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
        for call in _primed(host, route):
            for role in [*route.refused_roles, "deleted"]:
                r = call.as_role(role).send(host)
                if r.status_code not in (401, 403):
                    bad.append({"route": f"{call.method} {route.template}", "as": role,
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
        for call in route.calls():
            r = call.send(host)
            if r.status_code in (401, 403):
                bad.append({"route": f"{call.method} {route.template}", "as": call.role,
                            "status": r.status_code, "body": r.text[:200]})
    if bad:
        raise CheckFailed(f"{len(bad)} request(s) with a declared role were refused "
                          f"(e.g. {bad[0]['route']} as {bad[0]['as']} → {bad[0]['status']})",
                          {"requests": bad})


def _user_changes(expected: dict[str, Any], seen: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": role, "bare_host": expected[role], "with_extension": seen.get(role)}
            for role in expected if seen.get(role) != expected[role]]


def _shown(seen: Any) -> str:
    """A user as ``GET /api/v1/me`` showed it, briefly: roles if any, else the status."""
    user = seen.get("user") if isinstance(seen, dict) else None
    if isinstance(user, dict) and "roles" in user:
        return f"roles {user['roles']}"
    return f"HTTP {seen.get('status') if isinstance(seen, dict) else seen}"


@check(id="AU-04", title="Users and roles stay as the core keeps them (auth is read-only)",
       requires=("REQ-5.3", "REQ-1.3"), severity=REQUIRED)
def auth_read_only(ctx: CheckContext) -> None:
    """Use the auth service only to read (get_user, validate_token, check_permission); never
    reach into the host to create users, delete them or change roles — define your own roles
    and permissions instead, and let administrators assign them."""
    bare = ctx.host(extensions=[])
    expected, expected_users = who(bare), ctx.probe("auth.users", host_id=host_id(bare))["users"]
    host = ctx.host()
    require_loaded(host, ctx.extension)
    for call in calls(route_table(host, ctx.extension), refused_too=True):
        for role in ACTORS:
            call.as_role(role).send(host)
    changed = _user_changes(expected, who(host))
    if changed:
        c = changed[0]
        raise CheckFailed(f"{len(changed)} seeded user(s) look different to the core with the "
                          f"extension loaded (e.g. the {c['role']} user has "
                          f"{_shown(c['with_extension'])} instead of {_shown(c['bare_host'])})",
                          {"changed": changed})
    seen = ctx.probe("auth.users", host_id=host_id(host), extension=ctx.extension,
                     attempt_writes=True)
    if seen.get("users") != expected_users:
        raise CheckFailed("the host's users differ from a bare host's after the extension ran",
                          {"bare_host": expected_users, "with_extension": seen.get("users")})
    problems = []
    for label, service in (seen.get("services") or {}).items():
        if service.get("extra_methods"):
            problems.append(f"the auth service {label} by the extension offers "
                            f"{', '.join(service['extra_methods'])}")
        writes = {k: v for k, v in (service.get("writes") or {}).items()
                  if v != "absent" and not str(v).startswith("refused")}
        if writes:
            problems.append(f"writes through the auth service {label} were not refused: "
                            + ", ".join(f"{k} {v}" for k, v in writes.items()))
        if service.get("user_object") == "succeeded":
            problems.append("a user object from the auth service could be changed in place")
    if seen.get("users_after_writes") != expected_users:
        problems.append("attempted writes through the auth service changed the host's users")
    if problems:
        raise CheckFailed("; ".join(problems), {
            "services": seen.get("services"),
            "users_after_writes": seen.get("users_after_writes"),
        })


def _audit_entries(ctx: CheckContext, host: HostHandle, since: int) -> tuple[int, list[Any]]:
    out = ctx.probe("auth.audit", host_id=host_id(host), since=since)
    return int(out["count"]), list(out["entries"])


@check(id="AU-05", title="State-changing actions are audited with the acting user",
       requires=("REQ-5.4",), severity=REQUIRED)
def actions_audited(ctx: CheckContext) -> None:
    """Call `services.audit.record(user.id, "<ext>.<verb>", {...})` in every handler that
    changes something (each successful POST/PUT/PATCH/DELETE), with the id of
    `current_user(request)` — never None or a fixed id for a signed-in user."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    ids = user_ids(host)
    missing: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    done = 0
    for route in route_table(host, ctx.extension):
        for call in route.calls(MUTATING_METHODS):
            role = call.role or "user"  # an open route still has a signed-in user to name
            before, _ = _audit_entries(ctx, host, 0)
            status = call.as_role(role).send(host).status_code
            if not 200 <= status < 300:
                continue
            done += 1
            _, entries = _audit_entries(ctx, host, before)
            mine = [e for e in entries if e.get("extension") == ctx.extension]
            sent = {"request": f"{call.method} {route.template}", "as": role, "status": status}
            if not mine:
                missing.append(sent)
            elif not any(e.get("user_id") == ids[role] for e in mine):
                wrong.append({**sent, "expected_user_id": ids[role],
                              "audited": [{k: e.get(k) for k in ("user_id", "action")}
                                          for e in mine]})
    ctx.figure("audited_actions", done)
    if missing:
        raise CheckFailed(f"{len(missing)} successful state-changing request(s) left no audit "
                          f"entry (e.g. {missing[0]['request']} as {missing[0]['as']})",
                          {"unaudited": missing, "wrong_user": wrong})
    if wrong:
        raise CheckFailed(f"{len(wrong)} audit entr(ies) name another user than the one acting "
                          f"(e.g. {wrong[0]['request']}: {wrong[0]['audited']})",
                          {"wrong_user": wrong})
