"""Hooks resolved per route: each route keeps only the hooks that can apply to its paths.

What a user sees must not change: a hook fires exactly on the request paths its
patterns select, in the documented order, and never once its extension is
disabled — also when a path was rewritten on the way, and also within the
request that got the extension disabled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dufflebag_harness.inside.host import ExtensionState, HostOptions
from dufflebag_harness.inside.host._faults import FailureWindow
from dufflebag_harness.inside.host._hookplan import HookIndex, RouteHooks
from dufflebag_harness.inside.host._hooks import BoundHook, bind_hooks, order_hooks
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Middleware,
    Quotas,
    Request,
    Response,
)

from ._helpers import Echo, auth, meta, run, serve

PRE = HookType.PRE_REQUEST


def _record(name: str) -> ExtensionRecord:
    return ExtensionRecord(
        name=name,
        extension=Echo(name),
        quotas=Quotas(),
        capabilities=frozenset(),
        config_given=None,
        failures=FailureWindow(5, 60.0),
        state=ExtensionState.ACTIVE,
    )


def _noop(ctx: HookContext) -> None:
    return None


_PATTERNS: dict[str, tuple[str, ...] | None] = {
    "everywhere": None,
    "own": ("/ext/a/*",),
    "other": ("/ext/b/*",),
    "exact_ping": ("/ext/a/ping",),
    "items_1x": ("/ext/a/items/1*",),
    "item_7": ("/ext/a/items/7",),
    "all_ext": ("/ext/*",),
    "mixed": ("/ext/b/ping", "/ext/a/items/*"),
    "longer_than_ping": ("/ext/a/ping/more",),
}


def _everywhere() -> RouteHooks:
    bound = bind_hooks(_record("a"), [Hook(n, PRE, _noop, paths=p) for n, p in _PATTERNS.items()])
    ordered = order_hooks(bound)
    return RouteHooks.everywhere(ordered)


def _route(template: str) -> RouteHooks:
    bound = bind_hooks(_record("a"), [Hook(n, PRE, _noop, paths=p) for n, p in _PATTERNS.items()])
    return HookIndex(order_hooks(bound)).route(template)


def _names(entries: tuple[tuple[BoundHook, tuple[str, ...] | None], ...]) -> dict[str, Any]:
    """Hook name -> patterns still checked per request (None: none)."""
    return {bound.hook.name: patterns for bound, patterns in entries}


def test_a_static_route_keeps_only_the_hooks_its_path_selects_with_nothing_left_to_match() -> None:
    route = _route("/ext/a/ping")
    assert _names(route.select(PRE, "/ext/a/ping")) == {
        "everywhere": None, "own": None, "exact_ping": None, "all_ext": None,
    }


def test_a_parameterised_route_leaves_only_undecided_patterns_to_the_request() -> None:
    route = _route("/ext/a/items/{item_id:int}")
    assert _names(route.select(PRE, "/ext/a/items/12")) == {
        "everywhere": None,
        "own": None,
        "items_1x": ("/ext/a/items/1*",),
        "item_7": ("/ext/a/items/7",),
        "all_ext": None,
        "mixed": None,
    }


def test_a_path_the_template_cannot_produce_gets_every_hook_with_its_patterns() -> None:
    route = _route("/ext/a/ping")
    entries = route.select(PRE, "/ext/b/ping")  # e.g. rewritten in place by a middleware
    assert _names(entries) == _PATTERNS
    assert _names(_everywhere().select(PRE, "/anything")) == _PATTERNS


def test_routes_outside_the_extension_prefix_consider_only_hooks_that_can_reach_them() -> None:
    assert _names(_route("/api/v1/me").select(PRE, "/api/v1/me")) == {"everywhere": None}
    # a template whose literal stops inside /ext/ may produce any extension's paths
    assert _names(_route("/ext/{name}/ping").select(PRE, "/ext/a/ping")) == {
        "everywhere": None,
        "own": ("/ext/a/*",),
        "other": ("/ext/b/*",),
        "exact_ping": ("/ext/a/ping",),
        "items_1x": ("/ext/a/items/1*",),
        "item_7": ("/ext/a/items/7",),
        "all_ext": None,
        "mixed": ("/ext/b/ping", "/ext/a/items/*"),
        "longer_than_ping": ("/ext/a/ping/more",),
    }


def test_a_route_gets_its_own_and_unconfined_hooks_in_firing_order() -> None:
    hooks = [
        *bind_hooks(_record("b"), [Hook("b_late", PRE, _noop, priority=50, paths=("/ext/b/*",)),
                                   Hook("b_early", PRE, _noop, priority=1, paths=("/ext/b/x",))]),
        *bind_hooks(_record("a"), [Hook("a_mid", PRE, _noop, priority=20, paths=("/ext/a/*",)),
                                   Hook("global_mid", PRE, _noop, priority=20),
                                   Hook("global_first", PRE, _noop, priority=0)]),
        *bind_hooks(_record("c"), [Hook("c_mid", PRE, _noop, priority=20)]),
    ]
    index = HookIndex(order_hooks(hooks))
    assert list(_names(index.route("/ext/b/x").select(PRE, "/ext/b/x"))) == [
        "global_first", "b_early", "global_mid", "c_mid", "b_late"]
    assert list(_names(index.route("/ext/a/x").select(PRE, "/ext/a/x"))) == [
        "global_first", "a_mid", "global_mid", "c_mid"]


def test_a_hook_type_nobody_registered_selects_nothing() -> None:
    assert _route("/ext/a/ping").select(HookType.POST_REQUEST, "/ext/a/ping") == ()
    assert _everywhere().select(HookType.ERROR, "/ext/a/ping") == ()


def test_hooks_are_classified_sync_or_async_when_bound() -> None:
    async def later(ctx: HookContext) -> None:
        return None

    class Callable:
        async def __call__(self, ctx: HookContext) -> None:
            return None

    bound = bind_hooks(_record("a"), [Hook("s", PRE, _noop), Hook("a", PRE, later),
                                      Hook("o", PRE, Callable())])
    assert [b.is_async for b in bound] == [False, True, True]
    assert [b.index for b in bound] == [0, 1, 2]


class Spy(Extension):
    """Hooks on other extensions' paths; records which fired on which path."""

    def __init__(self, name: str, hooks: dict[str, tuple[str, ...] | None],
                 kind: HookType = PRE) -> None:
        self.metadata = meta(name)  # type: ignore[misc]
        self.fired: list[tuple[str, str]] = []
        self._hooks = hooks
        self._kind = kind

    def hooks(self) -> list[Hook]:
        def noting(label: str) -> Any:
            def handler(ctx: HookContext) -> None:
                assert ctx.request is not None
                self.fired.append((label, ctx.request.url.path))

            return handler

        return [Hook(label, self._kind, noting(label), paths=paths)
                for label, paths in self._hooks.items()]


def test_hooks_on_parameterised_paths_fire_exactly_where_their_patterns_say(
    tmp_path: Path,
) -> None:
    spy = Spy("spy", {
        "item_7": ("/ext/echo/items/7",),
        "items_1x": ("/ext/echo/items/1*",),
        "echo": ("/ext/echo/*",),
        "other": ("/ext/other/*",),
    })

    async def body() -> None:
        async with serve(tmp_path, Echo(), Echo("other"), spy) as (_host, client):
            for path in ("/ext/echo/items/7", "/ext/echo/items/12", "/ext/echo/items/2",
                         "/ext/echo/ping", "/ext/echo/nothing-here", "/ext/other/ping"):
                await client.get(path)
        assert spy.fired == [  # same priority and extension: registration order
            ("item_7", "/ext/echo/items/7"), ("echo", "/ext/echo/items/7"),
            ("items_1x", "/ext/echo/items/12"), ("echo", "/ext/echo/items/12"),
            ("echo", "/ext/echo/items/2"),
            ("echo", "/ext/echo/ping"),
            ("echo", "/ext/echo/nothing-here"),  # no route answers: still the path decides
            ("other", "/ext/other/ping"),
        ]

    run(body())


def _rewriting(target: str) -> Any:
    """A middleware that rewrites ``scope["path"]`` in place before calling on."""

    def factory(app: Any) -> Any:
        async def rewrite(scope: Any, receive: Any, send: Any) -> None:
            scope["path"] = target
            await app(scope, receive, send)

        return rewrite

    return factory


class Guarded(Extension):
    metadata = meta("guarded")

    def register_routes(self, router: Any) -> None:
        async def private(request: Request) -> Response:
            return JSONResponse({"private": True})

        router.get("/private", private, roles=("user",))

    def middleware(self) -> list[Middleware]:
        return [Middleware("rewrite", _rewriting("/ext/guarded/renamed"),
                           paths=("/ext/guarded/private",))]


def test_hooks_inside_a_route_see_a_path_rewritten_in_place(tmp_path: Path) -> None:
    spy = Spy("spy", {"renamed": ("/ext/guarded/renamed",),
                      "original": ("/ext/guarded/private",)}, kind=HookType.AUTHORIZATION)

    async def body() -> None:
        async with serve(tmp_path, Guarded(), spy) as (_host, client):
            r = await client.get("/ext/guarded/private", headers=auth("user"))
            assert r.status_code == 200
        assert spy.fired == [("renamed", "/ext/guarded/renamed")]

    run(body())


class Tripping(Extension):
    """A pre_request hook that raises, and a post_request hook that records."""

    metadata = meta("tripping")

    def __init__(self) -> None:
        self.posts = 0

    def hooks(self) -> list[Hook]:
        def trip(ctx: HookContext) -> None:
            raise RuntimeError("tripped")

        def post(ctx: HookContext) -> None:
            self.posts += 1

        return [Hook("trip", PRE, trip), Hook("post", HookType.POST_REQUEST, post)]


def test_an_extension_auto_disabled_mid_request_fires_no_more_hooks_in_it(tmp_path: Path) -> None:
    ext = Tripping()
    options = HostOptions(failure_threshold=1)

    async def body() -> None:
        async with serve(tmp_path, ext, Echo(), options=options) as (host, client):
            assert (await client.get("/ext/echo/ping")).status_code == 200
            assert host.state("tripping") is ExtensionState.AUTO_DISABLED
            assert ext.posts == 0
            host.enable("tripping")
            await client.get("/ext/echo/ping")
            assert ext.posts == 0  # tripped again on the way in
            assert host.state("tripping") is ExtensionState.AUTO_DISABLED

    run(body())


class SelfDisabling(Extension):
    """Its handler has the host disable a *neighbour* while the request is in flight."""

    metadata = meta("switch")

    def __init__(self) -> None:
        self.host: Any = None

    def register_routes(self, router: Any) -> None:
        async def off(request: Request) -> Response:
            self.host.disable("spy")
            return JSONResponse({"off": True})

        router.get("/off", off)


def test_hooks_of_an_extension_disabled_during_a_request_are_skipped_for_its_rest(
    tmp_path: Path,
) -> None:
    switch = SelfDisabling()
    pre = Spy("spy", {"pre": None})
    post_hooks = [Hook("post", HookType.POST_REQUEST,
                       lambda ctx: pre.fired.append(("post", "")))]
    pre.hooks = lambda: [*Spy.hooks(pre), *post_hooks]  # type: ignore[method-assign]

    async def body() -> None:
        async with serve(tmp_path, switch, pre) as (host, client):
            switch.host = host
            assert (await client.get("/ext/switch/off")).status_code == 200
        assert pre.fired == [("pre", "/ext/switch/off")]

    run(body())


class Methods(Extension):
    """GET and POST on one path, and a hook that turns GETs into POSTs in place."""

    metadata = meta("methods")

    def register_routes(self, router: Any) -> None:
        async def got(request: Request) -> Response:
            return JSONResponse({"handled": "GET"})

        async def posted(request: Request) -> Response:
            return JSONResponse({"handled": "POST"})

        router.get("/m", got)
        router.post("/m", posted)

    def hooks(self) -> list[Hook]:
        def rewrite(ctx: HookContext) -> None:
            assert ctx.request is not None
            ctx.request.scope["method"] = "POST"

        return [Hook("rewrite", PRE, rewrite, paths=("/ext/methods/m",))]


def test_a_method_rewritten_in_place_by_a_hook_is_routed_as_rewritten(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Methods()) as (_host, client):
            assert (await client.get("/ext/methods/m")).json() == {"handled": "POST"}

    run(body())
