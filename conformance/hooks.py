"""HK — hooks and middleware: declared priority order, changes that take effect,
declared paths honoured.

The management API lists what the extension declares (middleware and hooks,
with priority and paths). A worker probe traces what actually ran over a
fixed set of requests — the extension's routes, core routes, a 404 and a
companion's route — and these checks hold the trace to the declarations.
Whether a declared path selects any route at all is judged in the parent
from the host's OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from dufflebag_harness.conformance._hooks_trace import (
    dead_patterns,
    modification_problems,
    order_problems,
    out_of_path_problems,
)
from dufflebag_harness.conformance._probing import details, require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed


def _declared(ctx: CheckContext, with_others: list[str]) -> dict[str, Any]:
    host = ctx.host(extensions=[ctx.extension, *with_others])
    require_loaded(host, ctx.extension)
    info = details(host, ctx.extension)
    paths = host.request("GET", "/openapi.json").json().get("paths", {})
    return {"middleware": info.get("middleware") or [], "hooks": info.get("hooks") or [],
            "templates": sorted(paths)}


def _trace(ctx: CheckContext) -> dict[str, Any]:
    """The probe's trace, its declarations checked against the management API's."""
    [other] = ctx.companions(1)
    listed = _declared(ctx, [other])
    trace = ctx.probe("hooks.trace", extension=ctx.extension, others=[other])
    if trace.get("load_error"):
        raise CheckFailed(f"the extension did not load: {trace['load_error']}", trace)
    seen = trace["declared"]
    keyed = (("middleware", ("name", "priority")), ("hooks", ("name", "type", "priority")))
    for kind, keys in keyed:
        mine = [[item[k] for k in keys] for item in seen[kind]]
        theirs = [[item[k] for k in keys] for item in listed[kind]]
        if mine != theirs:
            raise CheckFailed(f"the extension declared different {kind} in two hosts",
                              {"probe": seen[kind], "management_api": listed[kind]})
    trace["templates"] = listed["templates"]
    ctx.figure("hk_traced_requests", len(trace["requests"]))
    return trace


def _fail(problems: list[dict[str, Any]], what: str, trace: dict[str, Any]) -> None:
    if problems:
        first = problems[0]
        where = f" ({first['request']})" if "request" in first else ""
        raise CheckFailed(f"{len(problems)} {what}, e.g. {first['problem']}{where}",
                          {"problems": problems[:30], "declared": trace["declared"]})


@check(id="HK-01", title="Middleware and hooks run once per request, in declared priority order",
       requires=("REQ-1.4", "REQ-4.3"), severity=REQUIRED, profiles=("full",))
def priority_order_honoured(ctx: CheckContext) -> None:
    """Let the host order your middleware and hooks by `priority`: a middleware calls the
    app it wraps at most once per request (no retries or "dry runs" of the rest of the
    chain), and never calls your own hooks itself."""
    trace = _trace(ctx)
    _fail(order_problems(trace), "ordering problem(s)", trace)


@check(id="HK-02", title="Hooks run cleanly and their request/response changes take effect",
       requires=("REQ-4.1", "REQ-4.2"), severity=REQUIRED, profiles=("full",))
def modifications_take_effect(ctx: CheckContext) -> None:
    """Change requests and responses only through the hook context: edit
    `ctx.payload["headers"]` (pre_request), set `ctx.status` to an int 100-599 and edit
    `ctx.response_headers` (pre_response), `ctx.abort(status, body)` to stop — and never
    raise on ordinary traffic."""
    trace = _trace(ctx)
    _fail(modification_problems(trace), "hook change(s) that did not take effect", trace)


@check(id="HK-03", title="Path-specific middleware and hooks apply on their declared paths only",
       requires=("REQ-1.4", "REQ-4.1"), severity=REQUIRED, profiles=("full",))
def declared_paths_honoured(ctx: CheckContext) -> None:
    """Write `paths` as full request paths (`/ext/{name}/admin/*`, `/api/v1/storage/*`):
    they are not relative to your prefix, and one that matches no route never applies."""
    trace = _trace(ctx)
    dead = dead_patterns(trace["declared"], trace["templates"])
    _fail(dead, "declared path(s) that select no route", trace)
    _fail(out_of_path_problems(trace), "registration(s) that ran outside their paths", trace)
