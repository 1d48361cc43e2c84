"""The route table: every route compiled with its full layer chain and its hooks.

Built from scratch on start, enable, disable and auto-disable — never per
request. Matching is a prefix split (``/ext/{name}/`` selects one extension's
routes, anything else the core's) followed by a regex per candidate route.
Each route carries the hooks that can apply to it (:class:`RouteHooks`); a
disabled extension's middleware and hooks are simply not in the table.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
from starlette.convertors import Convertor
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from dufflebag_harness.inside.host._faults import CORE, Blame, error_response
from dufflebag_harness.inside.host._hookplan import HookIndex, RouteHooks
from dufflebag_harness.inside.host._hooks import order_hooks
from dufflebag_harness.inside.host._layers import AuthGate, HandlerApp, RouteGuard
from dufflebag_harness.inside.host._options import ExtensionState
from dufflebag_harness.inside.host._paths import path_matches
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.sdk import Middleware, RouteSpec

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["CompiledRoute", "RouteTable", "build_table"]

log = logging.getLogger("dufflebag.host.table")

ALLOW_KEY = "dufflebag.allow"
_NONE_ALLOWED: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CompiledRoute:
    template: str
    regex: re.Pattern[str]
    convertors: Mapping[str, Convertor[Any]]
    methods: frozenset[str]
    app: ASGIApp
    extension: str | None
    spec: RouteSpec
    hooks: RouteHooks


async def _fallback(scope: Scope, receive: Receive, send: Send) -> None:
    allow = scope.get(ALLOW_KEY)
    if allow:
        headers = {"Allow": ", ".join(sorted(allow))}
        await error_response(405, "method not allowed", headers)(scope, receive, send)
    else:
        await error_response(404, "not found")(scope, receive, send)


@dataclass(frozen=True)
class RouteTable:
    core: tuple[CompiledRoute, ...]
    extensions: Mapping[str, tuple[CompiledRoute, ...]]
    fallback: ASGIApp
    hooks: RouteHooks  # every hook, matched per request: unrouted requests, core handlers
    middleware_count: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def empty(cls) -> RouteTable:
        return cls((), {}, _fallback, RouteHooks.everywhere({}))

    def match(
        self, path: str, method: str
    ) -> tuple[CompiledRoute | None, dict[str, Any], frozenset[str]]:
        """The route for ``method path`` with its converted parameters, or the allowed set."""
        if path.startswith("/ext/"):
            routes = self.extensions.get(path[5:].partition("/")[0], ())
        else:
            routes = self.core
        allowed: set[str] = set()
        for route in routes:
            found = route.regex.match(path)
            if found is None:
                continue
            if method in route.methods:
                params = (
                    {
                        key: route.convertors[key].convert(value)
                        for key, value in found.groupdict().items()
                    }
                    if route.convertors
                    else {}
                )
                return route, params, _NONE_ALLOWED
            allowed |= route.methods
        return None, {}, frozenset(allowed)


_Ordered = tuple[int, str, int, Middleware]


def _wrap(app: ASGIApp, template: str, middleware: Iterable[_Ordered]) -> ASGIApp:
    """Apply the matching middleware; the first in order ends up outermost."""
    for _prio, owner, _idx, mw in reversed(list(middleware)):
        if not path_matches(mw.paths, template):
            continue
        try:
            app = Blame(mw.factory(app), owner)
        except Exception:  # checked at load; a factory failing now is skipped, not fatal
            log.exception(
                "middleware %r of extension %r failed to wrap %s; skipped",
                mw.name,
                owner,
                template,
                extra={"extension": owner},
            )
    return app


def _compile(
    state: HostState,
    spec: RouteSpec,
    template: str,
    record: ExtensionRecord | None,
    middleware: list[_Ordered],
    core_limiter: anyio.CapacityLimiter,
    hooks: HookIndex,
) -> CompiledRoute:
    owner = record.name if record is not None else CORE
    limiter = record.sync_limiter if record is not None else core_limiter
    what = f"handler of {spec.methods} {template}"
    route_hooks = hooks.route(template)
    app: ASGIApp = HandlerApp(spec.handler, limiter, what, owner)
    if spec.auth:
        app = AuthGate(
            app,
            state,
            route_hooks,
            roles=spec.roles,
            permission=spec.permission,
            extension=record.name if record else None,
        )
    app = RouteGuard(_wrap(app, template, middleware), state, record, route_hooks)
    regex, _fmt, convertors = compile_path(template)
    methods = set(spec.methods)
    if "GET" in methods:
        methods.add("HEAD")
    return CompiledRoute(
        template=template,
        regex=regex,
        convertors=convertors,
        methods=frozenset(methods),
        app=app,
        extension=record.name if record else None,
        spec=spec,
        hooks=route_hooks,
    )


def build_table(state: HostState) -> RouteTable:
    """A fresh table for the records' current states."""
    active = [r for r in state.records.values() if r.state is ExtensionState.ACTIVE]
    ordered: list[_Ordered] = sorted(
        (
            (mw.priority, rec.name, idx, mw)
            for rec in active
            for idx, mw in enumerate(rec.middleware)
        ),
        key=lambda item: item[:3],
    )
    hooks = HookIndex(order_hooks(bound for rec in active for bound in rec.bound_hooks))
    core_limiter = state.core_limiter
    core = tuple(
        _compile(state, spec, spec.path, None, ordered, core_limiter, hooks)
        for spec in state.core_routes
    )
    extensions: dict[str, tuple[CompiledRoute, ...]] = {}
    for rec in active:
        if rec.router is None:
            continue
        extensions[rec.name] = tuple(
            _compile(state, spec, rec.router.full_path(spec), rec, ordered, core_limiter, hooks)
            for spec in rec.router.routes
        )
    fallback = RouteGuard(_wrap(_fallback, "", ordered), state, None, hooks.everywhere)
    return RouteTable(
        core=core,
        extensions=extensions,
        fallback=fallback,
        hooks=hooks.everywhere,
        middleware_count={rec.name: len(rec.middleware) for rec in active},
    )
