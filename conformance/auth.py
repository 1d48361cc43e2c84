"""AU — authentication and roles on the extension's routes; users left alone; actions
audited; nothing open by accident; secrets shown once.

A protected route is one registered with ``auth=True``, ``roles=(...)`` or a
``permission``: the extension's own claim, listed by the host. These checks hold
it to that claim end to end, whatever middleware or hooks the extension adds in
front; which seeded user the host must admit or refuse is ``_routes``' rule. The
users and roles the core keeps must look the same with the extension as
without it, and every state-changing request it serves leaves an audit entry
naming the user who made it.

The claim is not the whole story: an extension may check roles in a handler, or
forget to claim anything. So the checks also judge behaviour, whoever decides: a
deleted user never gets further than an anonymous caller on any route (AU-02); a
route that changes state refuses anonymous callers unless ``extension.toml``
declares it public (AU-06); and a secret — a secret setting, or a value handed back
once when something was created — is never in a later answer (AU-07). Requests are
what a client would send (``_auth_exercise``): bodies the route's OpenAPI admits,
ids of what was created.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from dufflebag_harness.conformance._auth_exercise import (
    MAX_IDS,
    Exercise,
    bodies,
    body_schemas,
    found_in,
    ids_in,
    paths,
    without_converters,
)
from dufflebag_harness.conformance._auth_probing import ACTORS, host_id, user_ids, who
from dufflebag_harness.conformance._fuzz_engine import extension_document
from dufflebag_harness.conformance._probing import details, require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import (
    MUTATING_METHODS,
    Call,
    Route,
    calls,
    route_table,
)
from dufflebag_harness.conformance._security_secrets import canary_config
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


def _refused(status: int) -> bool:
    """A refusal a handler gives a caller it does not admit."""
    return status in (401, 403, 404)


def _past_the_gate(status: int) -> bool:
    """An answer only a caller the handler admitted gets: success, or the body judged
    (400, 409, 422). A quota's 429 or a 5xx says nothing about who was admitted."""
    return status < 400 or status in (400, 409, 422)


def _deleted_beyond_anonymous(host: HostHandle, route: Route) -> list[dict[str, Any]]:
    """Requests to open ``route`` a deleted user got through where an anonymous caller was
    refused: a handler that checks roles itself (``"admin" in user.roles``, a role cache,
    a lookup of its own) and forgets that ``deleted`` outranks every other role."""
    bad = []
    for call in _primed(host, route):
        anonymous = call.as_role(None).send(host).status_code
        deleted = call.as_role("deleted").send(host)
        if _refused(anonymous) and _past_the_gate(deleted.status_code):
            again = call.as_role(None).send(host).status_code  # not a state the first changed
            if _refused(again):
                bad.append({"route": f"{call.method} {route.template}", "as": "deleted",
                            "status": deleted.status_code, "anonymous_status": anonymous,
                            "body": deleted.text[:200]})
    return bad


@check(id="AU-02", title="Wrong roles get 403; deleted users are never admitted",
       requires=("REQ-5.2",), severity=REQUIRED,
       fix="Require roles with `roles=(...)` on the route; don't re-implement role checks in "
           "middleware. Where a handler must decide by role itself, ask "
           "`user.has_role(...)` (false for a deleted user), never `\"admin\" in user.roles` "
           "or roles you looked up or cached yourself: a deleted user still carries the roles "
           "they had.")
def wrong_role_and_deleted_refused(ctx: CheckContext) -> None:
    """On each protected route, after an admitted user's request warmed any cache, every
    seeded role the route does not admit, and the deleted user, get 401 or 403. On every
    other route, method by method, the deleted user gets no further than an anonymous
    caller: where the anonymous request is refused (401, 403, 404, confirmed by sending it
    again) the deleted user's must be refused too — whoever checks the role, the host or
    the handler."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    routes = route_table(host, ctx.extension)
    bad = []
    for route in routes:
        if not route.protected:
            bad += _deleted_beyond_anonymous(host, route)
            continue
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
       requires=("REQ-5.4",), severity=REQUIRED,
       fix="Call `services.audit.record(user.id, \"<ext>.<verb>\", {...})` in every handler "
           "that changes something (each successful POST/PUT/PATCH/DELETE), with the id of "
           "`current_user(request)` — never None or a fixed id for a signed-in user.")
def actions_audited(ctx: CheckContext) -> None:
    """Each state-changing method a route is registered with (POST first, DELETE last) is
    sent as the least-privileged user it admits (the plain user on an open route) with
    what a client would send: a body the route's OpenAPI `requestBody` admits, else `{}`,
    and the ids of resources created before. Every successful (2xx) one must leave an audit
    entry of the extension naming that user. Only registered methods count — never HEAD,
    OPTIONS or a method a handler would merely accept — and the count of audited actions
    is in the report's figures."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    users = user_ids(host)
    schemas = _schemas(ctx, host)
    missing: list[dict[str, Any]] = []
    wrong: list[dict[str, Any]] = []
    made: list[str] = []
    done = 0
    routes = route_table(host, ctx.extension)
    for method in MUTATING_METHODS:  # POST first (ids for the rest), DELETE last
        for route in routes:
            if method not in route.methods or not route.admitted:
                continue
            role = route.role or "user"  # an open route still has a signed-in user to name
            sent = _first_success(ctx, host, route, method, role, schemas, made)
            if sent is None:
                continue
            done += 1
            entries = sent.pop("entries")
            mine = [e for e in entries if e.get("extension") == ctx.extension]
            if not mine:
                missing.append(sent)
            elif not any(e.get("user_id") == users[role] for e in mine):
                wrong.append({**sent, "expected_user_id": users[role],
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


def _first_success(ctx: CheckContext, host: HostHandle, route: Route, method: str, role: str,
                   schemas: dict[tuple[str, str], Any],
                   made: list[str]) -> dict[str, Any] | None:
    """Send ``method`` to ``route`` as ``role`` until one request succeeds: the request, its
    status and the audit entries it left (``None`` if none succeeded). Ids in a successful
    POST's answer are added to ``made``."""
    for path in paths(route, made):
        for body in bodies(route, method, schemas):
            before, _ = _audit_entries(ctx, host, 0)
            r = Call(method, path, role, json=body).send(host)
            if not 200 <= r.status_code < 300:
                continue
            _, entries = _audit_entries(ctx, host, before)
            if method == "POST":
                made[:] = list(dict.fromkeys([*made, *ids_in(_answer(r))]))[:MAX_IDS]
            return {"request": f"{method} {route.template}", "as": role,
                    "status": r.status_code, "entries": entries}
    return None


def _answer(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _schemas(ctx: CheckContext, host: HostHandle) -> dict[tuple[str, str], Any]:
    """Request-body schemas from the host's OpenAPI document; none (bodies are then ``{}``)
    when the document cannot be read — fuzzing (FZ) names that fault, not these checks."""
    try:
        return body_schemas(extension_document(host.base_url, ctx.extension))
    except (httpx.HTTPError, ValueError) as exc:
        ctx.figure("openapi_unreadable", f"{type(exc).__name__}: {str(exc)[:200]}")
        return {}


def _public(ctx: CheckContext) -> set[tuple[str, str]]:
    """``(METHOD, full path template)`` of each ``[[public_routes]]`` declaration; a path
    parameter's converter is no part of the match (``{item_id}`` is ``{item_id:int}``)."""
    prefix = f"/ext/{ctx.extension}"
    return {(r.method, without_converters(prefix + r.path)) for r in ctx.manifest.public_routes}


def _exercise(ctx: CheckContext, host: HostHandle,
              routes: list[Route]) -> tuple[Exercise, dict[tuple[str, str], Any]]:
    schemas = _schemas(ctx, host)
    return Exercise.run(host, routes, schemas), schemas


@check(id="AU-06", title="Routes are public only by declaration (no undeclared anonymous writes)",
       requires=("REQ-5.1", "REQ-5.3"), severity=REQUIRED,
       fix="Register every route that changes state with `auth=True`, `roles=(...)` or a "
           "`permission`. If anonymous writes are the point (a public feedback form), declare "
           "each such route in `extension.toml` — `[[public_routes]]` with `method`, `path` "
           "(as registered) and a `reason` — so the marketplace shows it.")
def anonymous_writes_declared(ctx: CheckContext) -> None:
    """First resources are created as a client would, through every POST route (a body its
    OpenAPI `requestBody` admits), keeping the ids the answers name. Then every POST, PUT,
    PATCH and DELETE method a route is registered with (deletions last) is sent anonymously,
    on its own path and on the path of each resource created, with that body and with `{}`.
    A 2xx answer fails unless `[[public_routes]]` declares exactly that method and path.
    The declared routes and their reasons are in the report."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    routes = route_table(host, ctx.extension)
    exercise, schemas = _exercise(ctx, host, routes)
    public = _public(ctx)
    bad: list[dict[str, Any]] = []
    checked = 0
    # deletions last, so the resources the other requests need still exist
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        for route in routes:
            if method not in route.methods or (
                    method, without_converters(route.template)) in public:
                continue
            checked += 1
            for path in paths(route, exercise.ids):
                hit = _anonymous_write(host, route, method, path, schemas)
                if hit is not None:
                    bad.append(hit)
                    break
    ctx.figure("state_changing_routes", checked)
    ctx.figure("declared_public_routes", len(public))
    if bad:
        raise CheckFailed(f"{len(bad)} state-changing route(s) answered an anonymous caller with "
                          f"success without being declared in [[public_routes]] (e.g. "
                          f"{bad[0]['request']} → {bad[0]['status']})", {"requests": bad})


def _anonymous_write(host: HostHandle, route: Route, method: str, path: str,
                     schemas: dict[tuple[str, str], Any]) -> dict[str, Any] | None:
    for body in bodies(route, method, schemas):
        r = Call(method, path, None, json=body).send(host)
        if 200 <= r.status_code < 300:
            return {"route": f"{method} {route.template}", "request": f"{method} {path}",
                    "status": r.status_code, "body": r.text[:200]}
    return None


def _later_requests(routes: list[Route], exercise: Exercise,
                    schemas: dict[tuple[str, str], Any]) -> Iterator[Call]:
    """Every GET, on each route's path and each created resource's, as every seeded user
    and anonymously; then every POST, PUT and PATCH (an "enable", a "rotate", another
    creation) as the route's caller, with a plausible body. DELETE never: the resources
    must stay to be read."""
    for route in routes:
        if "GET" in route.methods:
            for path in paths(route, exercise.ids):
                yield from (Call("GET", path, role) for role in ACTORS)
    for route in routes:
        for method in ("POST", "PUT", "PATCH"):
            if method in route.methods and route.admitted:
                for path in paths(route, exercise.ids):
                    body = bodies(route, method, schemas)[0]
                    yield Call(method, path, route.role, json=body)


@check(id="AU-07", title="Secrets never come back (secret settings, create-once secrets)",
       requires=("REQ-5.3",), severity=REQUIRED,
       fix="Show a secret once, to the one who made it: store a signing secret or token you "
           "generate, return it in the answer that creates it and never again; never echo a "
           "secret setting. Show whether it is set, or a hint (`\"…a1b2\"`), never the value, "
           "in no form (encoded, in a header, in a debug field).")
def secrets_never_returned(ctx: CheckContext) -> None:
    """A distinctive value is planted in every secret setting (`writeOnly: true`,
    `format: password`, `x-secret`, or a credential-like name in `config_schema`), and
    resources are created through every POST route as a client would; the secrets their
    2xx answers hand back (values under keys named like a secret, token, API key, password
    or credential, and random-looking strings, unless the key names an id, a name or a
    digest) are kept. Then every GET route, on its own path and on each created
    resource's, is sent as every seeded user and anonymously, and every POST, PUT and PATCH
    once more as its caller: no answer may hold any of those values — as is, base64, hex,
    or any 16-character run of a long one, in the body or a header. The values never enter
    the report; the evidence names the field."""
    first = ctx.host()  # the schema as the host lists it (not a self-reported probe)
    require_loaded(first, ctx.extension)
    config, canaries, _ = canary_config(details(first, ctx.extension).get("config_schema"))
    first.close()
    planted = {f"configuration field {path!r}": value for path, value in canaries.items()}
    host = ctx.host(config={ctx.extension: config} if config else None)
    require_loaded(host, ctx.extension)
    routes = route_table(host, ctx.extension)
    exercise, schemas = _exercise(ctx, host, routes)
    watched = dict(planted)
    for made in exercise.created:
        for where, value in made.secrets:
            if value not in watched.values():  # named after the answer that showed it first
                watched[f"{where} of {made.request}"] = value
    bad: list[dict[str, Any]] = []
    for call in _later_requests(routes, exercise, schemas):
        r = call.send(host)
        for label, value in watched.items():
            spot = found_in(r, value)
            if spot is not None:  # the value itself stays out of the report
                bad.append({"request": call.label, "as": call.role or "anonymous",
                            "status": r.status_code, "what": label, "in": spot})
    ctx.figure("watched_secrets", len(watched))
    if bad:
        b = bad[0]
        raise CheckFailed(f"{len(bad)} answer(s) handed back a secret (e.g. the {b['what']} "
                          f"in the {b['in']} of {b['request']} as {b['as']})",
                          {"leaks": bad[:50], "watched": sorted(watched)})
