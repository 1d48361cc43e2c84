"""RT — routing: routes under the prefix, nothing else reachable through it,
disabled means gone, no claims on other extensions' paths."""

from __future__ import annotations

from dufflebag_harness.conformance._probing import (
    core_differences,
    details,
    raw_request,
    require_loaded,
    set_enabled,
)
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import parse_routes
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed


@check(id="RT-01", title="Every route stays under /ext/{name}/",
       requires=("REQ-1.2",), severity=REQUIRED)
def routes_under_prefix(ctx: CheckContext) -> None:
    """Register routes with paths relative to your prefix (`/items`, not `/api/items`);
    never try `..`, encoded slashes or absolute paths."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    info = details(host, ctx.extension)
    prefix = f"/ext/{ctx.extension}/"
    outside = [r.template for r in parse_routes(info, ctx.extension)
               if not r.template.startswith(prefix)]
    refused = list(info.get("refused_routes") or [])
    if outside or refused:
        raise CheckFailed(
            "the extension registered or attempted routes outside its prefix: "
            + ", ".join(map(str, outside + refused)),
            {"outside": outside, "refused_attempts": refused},
        )


def _escape_paths(name: str, other: str) -> list[str]:
    p = f"/ext/{name}"
    return [
        f"{p}/../../api/v1/me",
        f"{p}/..%2f..%2fapi%2fv1%2fme",
        f"{p}/%2e%2e/%2e%2e/api/v1/me",
        f"{p}/..%5c..%5capi/v1/me",
        f"{p}%2f..%2f..%2fapi/v1/me",
        f"{p}/api/v1/me",
        f"{p}/../{other}/ping",
        f"{p}/ext/{other}/ping",
        f"{p}/{other}/ping",
    ]


@check(id="RT-02", title="Nothing outside the extension is reachable through its prefix",
       requires=("REQ-1.2", "REQ-5.1"), severity=REQUIRED)
def no_escape_through_prefix(ctx: CheckContext) -> None:
    """Don't forward requests from your routes to the host's app or to other
    extensions (no proxies over `request.scope['app']`), and don't normalize paths."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other])
    require_loaded(host, ctx.extension)
    auth = {"Authorization": f"Bearer {host.tokens['admin']}"}
    me = host.request("GET", "/api/v1/me", as_role="admin")
    ping = host.request("GET", f"/ext/{other}/ping")
    markers = {"core /api/v1/me": me.text.strip(), f"/ext/{other}/ping": ping.text.strip()}
    leaks = []
    for path in _escape_paths(ctx.extension, other):
        status, body = raw_request(host.base_url, path, auth)
        for label, marker in markers.items():
            if marker and marker in body and status < 400:
                leaks.append({"request": path, "status": status, "reached": label})
    if leaks:
        raise CheckFailed(
            f"{len(leaks)} request(s) under /ext/{ctx.extension}/ reached "
            f"{leaks[0]['reached']} (e.g. {leaks[0]['request']})", {"leaks": leaks},
        )


@check(id="RT-03", title="A disabled extension answers 404 and runs no middleware or hooks",
       requires=("REQ-2.1", "REQ-2.2"), severity=REQUIRED)
def disabled_is_gone(ctx: CheckContext) -> None:
    """Keep all behaviour inside registered routes, middleware and hooks: no global
    monkeypatching, no background task that answers requests."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    info = details(host, ctx.extension)
    set_enabled(host, ctx.extension, False)
    still = []
    for route in parse_routes(info, ctx.extension):
        for call in route.calls(refused_too=True):
            resp = call.send(host)
            if resp.status_code != 404:
                still.append({"route": f"{call.method} {route.template}",
                              "status": resp.status_code})
    diffs = core_differences(host, ctx.bare_host())
    if still:
        raise CheckFailed(f"{len(still)} route(s) still answer after disable "
                          f"(e.g. {still[0]['route']} → {still[0]['status']})", {"routes": still})
    if diffs:
        raise CheckFailed(
            f"with the extension disabled, core responses still differ from a bare host "
            f"(e.g. {diffs[0]['request']})", {"differences": diffs},
        )


def claims_other_extension(pattern: str, own: str) -> bool:
    """Whether path ``pattern`` singles out some *other* extension's ``/ext/{name}`` prefix.

    Global registrations (``paths=None``) and patterns over the whole ``/ext/``
    namespace treat every extension alike and are not claims; core paths are
    what hooks are for. A wildcard on a partial name (``/ext/ana*``) claims
    whichever extensions happen to start that way.
    """
    stem = pattern[:-1] if pattern.endswith("*") else pattern
    if not stem.startswith("/ext/"):
        return False
    segment = stem[len("/ext/"):].partition("/")[0]
    return bool(segment) and segment != own


@check(id="RT-04", title="Middleware and hooks claim no other extension's paths",
       requires=("REQ-1.2", "REQ-1.4", "REQ-9.2"), severity=REQUIRED)
def no_claims_on_other_extensions(ctx: CheckContext) -> None:
    """Limit path-specific middleware and hooks to your own prefix (`/ext/{name}/*`) or core
    paths; never target another extension's routes — ask its author for a hook instead."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    info = details(host, ctx.extension)
    claims = [
        {"kind": kind, "name": item.get("name"), "pattern": pattern}
        for kind in ("middleware", "hooks")
        for item in info.get(kind) or []
        for pattern in item.get("paths") or ()
        if isinstance(pattern, str) and claims_other_extension(pattern, ctx.extension)
    ]
    if claims:
        first = claims[0]
        raise CheckFailed(
            f"{len(claims)} registration(s) target another extension's paths "
            f"(e.g. {first['kind']} {first['name']!r} on {first['pattern']!r})",
            {"claims": claims},
        )
