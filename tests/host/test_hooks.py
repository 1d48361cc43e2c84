"""Hooks and middleware: order, modification, path selection, isolation, disabling."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.inside.host import ExtensionState
from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Middleware,
    Request,
    Response,
    current_user,
)

from ._helpers import Echo, auth, meta, run, serve, with_password


class Recorder(Extension):
    """Registers the hooks and middleware it is given; routes echo request headers."""

    def __init__(
        self, name: str, hooks: list[Hook] | None = None, mws: list[Middleware] | None = None
    ) -> None:
        self.metadata = meta(name)  # type: ignore[misc]
        self._hooks = hooks or []
        self._mws = mws or []

    def hooks(self) -> list[Hook]:
        return self._hooks

    def middleware(self) -> list[Middleware]:
        return self._mws

    def register_routes(self, router: Any) -> None:
        async def headers(request: Request) -> Response:
            return JSONResponse({"x-tag": request.headers.get("x-tag"),
                                 "x-mw": request.headers.get("x-mw")})

        async def boom(request: Request) -> Response:
            raise RuntimeError("boom")

        router.get("/headers", headers)
        router.get("/other", headers)
        router.get("/boom", boom)
        router.get("/private", headers, roles=("manager",))


def _noting(log: list[str], label: str) -> Any:
    def handler(ctx: HookContext) -> None:
        log.append(label)

    return handler


def test_hooks_run_by_priority_then_extension_name_then_registration(tmp_path: Path) -> None:
    calls: list[str] = []
    pre = HookType.PRE_REQUEST
    zeta = Recorder("zeta", [Hook("z10", pre, _noting(calls, "zeta:10"), priority=10)])
    alpha = Recorder("alpha", [
        Hook("a20", pre, _noting(calls, "alpha:20"), priority=20),
        Hook("a10-first", pre, _noting(calls, "alpha:10a"), priority=10),
        Hook("a10-second", pre, _noting(calls, "alpha:10b"), priority=10),
        Hook("a5", pre, _noting(calls, "alpha:5"), priority=5),
    ])

    async def body() -> None:
        async with serve(tmp_path, zeta, alpha) as (_host, client):
            await client.get("/healthz")
        assert calls == ["alpha:5", "alpha:10a", "alpha:10b", "zeta:10", "alpha:20"]

    run(body())


def _tagging(label: str, seen: list[str]) -> Any:
    def factory(app: Any) -> Any:
        async def mw(scope: Any, receive: Any, send: Any) -> None:
            seen.append(f"in:{label}")

            async def tagged(message: Any) -> None:
                if message["type"] == "http.response.start":
                    seen.append(f"out:{label}")
                    message["headers"] = [*message.get("headers", []),
                                          (b"x-through", label.encode())]
                await send(message)

            scope = dict(scope)
            scope["headers"] = [*scope["headers"], (b"x-mw", label.encode())]
            await app(scope, receive, tagged)

        return mw

    return factory


def test_lower_priority_middleware_is_the_outer_layer(tmp_path: Path) -> None:
    seen: list[str] = []
    one = Recorder("one", mws=[Middleware("late", _tagging("one:50", seen), priority=50)])
    two = Recorder("two", mws=[Middleware("early", _tagging("two:10", seen), priority=10),
                               Middleware("tie", _tagging("two:50", seen), priority=50)])

    async def body() -> None:
        async with serve(tmp_path, one, two) as (_host, client):
            r = await client.get("/ext/one/headers")
            assert seen == ["in:two:10", "in:one:50", "in:two:50",
                            "out:two:50", "out:one:50", "out:two:10"]
            # the innermost middleware's request header wins; every layer tagged the answer
            assert r.json()["x-mw"] == "two:10"
            assert r.headers.get_list("x-through") == ["two:50", "one:50", "two:10"]

    run(body())


def test_path_specific_middleware_is_resolved_once_and_only_on_its_paths(tmp_path: Path) -> None:
    built: list[str] = []
    seen: list[str] = []

    def factory(app: Any) -> Any:
        built.append("built")
        return _tagging("only", seen)(app)

    ext = Recorder("scoped", mws=[Middleware("only", factory, paths=("/ext/scoped/headers",))])

    async def body() -> None:
        async with serve(tmp_path, ext) as (_host, client):
            after_start = len(built)
            assert after_start == 2  # one probe at load, one for the single matching route
            for _ in range(3):
                assert (await client.get("/ext/scoped/other")).json()["x-mw"] is None
                assert (await client.get("/healthz")).status_code == 200
            assert seen == []
            assert (await client.get("/ext/scoped/headers")).json()["x-mw"] == "only"
            assert len(built) == after_start  # no per-request construction
            assert seen == ["in:only", "out:only"]

    run(body())


def test_request_and_response_modification(tmp_path: Path) -> None:
    def add_header(ctx: HookContext) -> None:
        ctx.payload["headers"]["x-tag"] = "from-hook"

    def refuse(ctx: HookContext) -> None:
        if ctx.payload["query"] == "deny=1":
            ctx.abort(451, {"error": "unavailable", "by": "policy"})

    def restyle(ctx: HookContext) -> None:
        if ctx.request is not None and ctx.request.url.path.endswith("/other"):
            ctx.status = 202
            ctx.response_headers["x-restyled"] = "yes"

    finished: list[int | None] = []
    ext = Recorder("mod", [
        Hook("tag", HookType.PRE_REQUEST, add_header, paths=("/ext/mod/*",)),
        Hook("refuse", HookType.PRE_REQUEST, refuse),
        Hook("restyle", HookType.PRE_RESPONSE, restyle),
        Hook("after", HookType.POST_REQUEST, lambda ctx: finished.append(ctx.status)),
    ])

    async def body() -> None:
        async with serve(tmp_path, ext) as (_host, client):
            assert (await client.get("/ext/mod/headers")).json()["x-tag"] == "from-hook"
            r = await client.get("/ext/mod/other")
            assert (r.status_code, r.headers["x-restyled"]) == (202, "yes")
            r = await client.get("/ext/mod/headers", params={"deny": "1"})
            assert r.status_code == 451 and r.json() == {"error": "unavailable", "by": "policy"}
            r = await client.get("/healthz")  # tag hook is limited to /ext/mod/*
            assert r.status_code == 200
        assert finished == [200, 202, 451, 200]

    run(body())


def test_failing_hook_is_isolated_and_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def bad(ctx: HookContext) -> None:
        raise KeyError("oops")

    later: list[str] = []
    ext = Recorder("hooky", [
        Hook("bad", HookType.PRE_REQUEST, bad, priority=1, paths=("/ext/echo/*",)),
        Hook("good", HookType.PRE_REQUEST, _noting(later, "good"), priority=2),
    ])

    async def body() -> None:
        async with serve(tmp_path, ext, Echo()) as (host, client):
            with caplog.at_level(logging.ERROR, logger="dufflebag"):
                assert (await client.get("/ext/echo/ping")).status_code == 200
            assert later == ["good"]
            rec = next(r for r in caplog.records if "hook 'bad'" in r.getMessage())
            assert getattr(rec, "extension", None) == "hooky"
            details = await client.get("/api/v1/extensions/hooky", headers=auth("user"))
            assert details.json()["failures"]["total"] == 1
            assert host.state("hooky") is ExtensionState.ACTIVE

    run(body())


def test_disabled_extension_routes_404_and_its_hooks_and_middleware_are_skipped(
    tmp_path: Path,
) -> None:
    fired: list[str] = []
    seen: list[str] = []
    ext = Recorder(
        "toggle",
        [Hook("note", HookType.PRE_REQUEST, _noting(fired, "hook"))],
        [Middleware("wrap", _tagging("toggle", seen))],
    )

    async def body() -> None:
        async with serve(tmp_path, ext, Echo()) as (host, client):
            assert (await client.get("/ext/echo/ping")).status_code == 200
            assert fired == ["hook"] and len(seen) == 2
            host.disable("toggle")
            assert (await client.get("/ext/toggle/headers")).status_code == 404
            assert (await client.get("/ext/echo/ping")).status_code == 200
            assert fired == ["hook"] and len(seen) == 2
            host.enable("toggle")
            assert (await client.get("/ext/toggle/headers")).status_code == 200
            assert fired == ["hook", "hook"]
            assert [e.action for e in host.audit_log][-2:] == [
                "extension.disable", "extension.enable"]

    run(body())


class EveryHook(Extension):
    """One hook of every type, recording what fired; a few of them edit or refuse."""

    metadata = meta("every")

    def __init__(self) -> None:
        self.fired: dict[HookType, list[HookContext]] = {}

    def hooks(self) -> list[Hook]:
        def record(ctx: HookContext) -> None:
            self.fired.setdefault(ctx.type, []).append(ctx)
            if ctx.type is HookType.PRE_DATABASE:
                ctx.payload["email"] = "set-by-hook@example.org"
            elif ctx.type is HookType.POST_SIGNUP:
                ctx.result["welcome"] = True
            elif ctx.type is HookType.PRE_AUTH and ctx.payload["username"] == "blocked":
                ctx.abort(423, {"error": "locked"})
            elif ctx.type is HookType.POST_AUTH and ctx.payload["username"] == "admin":
                ctx.result["authenticated"] = False
            elif ctx.type is HookType.POST_LOGIN:
                ctx.result["greeting"] = "hi"
            elif ctx.type is HookType.BEFORE_UPLOAD and ctx.payload["path"] == "virus.txt":
                ctx.abort(422, {"error": "infected"})
            elif ctx.type is HookType.AFTER_DOWNLOAD:
                ctx.result["headers"]["x-scanned"] = "clean"
            elif ctx.type is HookType.AUTHORIZATION and ctx.user and ctx.user.username == "spy":
                ctx.result["allowed"] = False

        return [Hook(f"h-{t.value}", t, record) for t in HookType]

    def register_routes(self, router: Any) -> None:
        async def me(request: Request) -> Response:
            user = current_user(request)
            return JSONResponse({"user": user.username if user else None})

        async def boom(request: Request) -> Response:
            raise RuntimeError("boom")

        router.get("/me", me, auth=True)
        router.get("/boom", boom)


def test_every_hook_type_has_a_real_trigger_in_the_core(tmp_path: Path) -> None:
    ext = EveryHook()
    users = with_password("admin", "admin-pass-1")

    async def body() -> None:
        async with serve(tmp_path, ext, users=users) as (_host, client):
            r = await client.post("/api/v1/auth/signup",
                                  json={"username": "erin", "password": "erin-pass-1"})
            assert r.status_code == 201
            assert r.json()["email"] == "set-by-hook@example.org" and r.json()["welcome"]
            r = await client.post("/api/v1/auth/login",
                                  json={"username": "erin", "password": "erin-pass-1"})
            assert r.json()["greeting"] == "hi" and r.json()["token"]
            token = {"Authorization": f"Bearer {r.json()['token']}"}
            r = await client.post("/api/v1/auth/login",
                                  json={"username": "blocked", "password": "whatever1"})
            assert (r.status_code, r.json()) == (423, {"error": "locked"})
            r = await client.post("/api/v1/auth/login",
                                  json={"username": "admin", "password": "admin-pass-1"})
            assert r.status_code == 401  # post_auth may refuse valid credentials
            r = await client.put("/api/v1/storage/notes/a.txt", content=b"data", headers=token)
            assert r.status_code == 201 and r.json()["size"] == 4
            r = await client.put("/api/v1/storage/virus.txt", content=b"x", headers=token)
            assert r.status_code == 422
            r = await client.get("/api/v1/storage/notes/a.txt", headers=token)
            assert (r.content, r.headers["x-scanned"]) == (b"data", "clean")
            assert (await client.get("/ext/every/me", headers=token)).status_code == 200
            assert (await client.get("/ext/every/boom")).status_code == 500
        assert set(ext.fired) == set(HookType)
        auth_ctx = ext.fired[HookType.AUTHENTICATION][0]
        assert auth_ctx.payload["resolved"] is True
        error_ctx = ext.fired[HookType.ERROR][0]
        assert isinstance(error_ctx.error, RuntimeError) and error_ctx.data["extension"] == "every"
        assert all("password" not in c.payload for c in ext.fired[HookType.PRE_AUTH])
        assert all("token" not in c.result for c in ext.fired[HookType.POST_LOGIN])

    run(body())


def test_authorization_hook_can_refuse_but_never_admit(tmp_path: Path) -> None:
    from dufflebag_harness.inside.host import SeedUser

    users = (SeedUser(1, "spy", frozenset({"manager"}), "tok-spy-0001"),
             SeedUser(2, "boss", frozenset({"manager"}), "tok-boss-001"),
             SeedUser(3, "pleb", frozenset({"user"}), "tok-pleb-001"))

    def generous(ctx: HookContext) -> None:
        if ctx.user and ctx.user.username == "spy":
            ctx.result["allowed"] = False
        else:
            ctx.result["allowed"] = True  # must not admit the plain user

    ext = Recorder("authz", [Hook("gen", HookType.AUTHORIZATION, generous)])

    async def body() -> None:
        async with serve(tmp_path, ext, users=users) as (_host, client):
            for token, status in [("tok-spy-0001", 403), ("tok-boss-001", 200),
                                  ("tok-pleb-001", 403)]:
                r = await client.get("/ext/authz/private",
                                     headers={"Authorization": f"Bearer {token}"})
                assert r.status_code == status, token

    run(body())


def test_async_hook_overrunning_its_deadline_is_cut_and_counted(tmp_path: Path) -> None:
    import anyio

    from dufflebag_harness.inside.host import HostOptions

    async def slow(ctx: HookContext) -> None:
        await anyio.sleep(30)

    ext = Recorder("slowhook", [Hook("slow", HookType.PRE_REQUEST, slow,
                                     paths=("/ext/slowhook/*",))])

    async def body() -> None:
        options = HostOptions(hook_timeout_s=0.1)
        async with serve(tmp_path, ext, options=options) as (_host, client):
            r = await client.get("/ext/slowhook/headers")
            assert r.status_code == 200
            details = await client.get("/api/v1/extensions/slowhook", headers=auth("user"))
            assert details.json()["failures"]["total"] == 1

    run(body())
