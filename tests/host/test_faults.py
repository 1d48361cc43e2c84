"""Extension faults stay with the extension: 500/504/503/429, auto-disable, load failures."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from dufflebag_harness.inside.host import ExtensionState, HostOptions
from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Middleware,
    Quotas,
    Request,
    Response,
)
from dufflebag_harness.sdk._hooks import MiddlewareFactory

from ._helpers import Echo, auth, meta, run, serve


class Faulty(Extension):
    metadata = meta("faulty")

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stopped = 0

    async def stop(self) -> None:
        self.stopped += 1

    def register_routes(self, router: Any) -> None:
        async def boom(request: Request) -> Response:
            raise RuntimeError("boom")

        async def hang(request: Request) -> Response:
            await anyio.sleep(60)
            return JSONResponse({})

        def blocking(request: Request) -> Response:
            time.sleep(0.4)
            return JSONResponse({"slept": True})

        async def not_a_response(request: Request) -> Any:
            return {"plain": "dict"}

        router.get("/boom", boom)
        router.get("/hang", hang)
        router.get("/blocking", blocking)
        router.get("/dict", not_a_response)


def test_handler_exception_is_a_500_naming_the_extension(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with serve(tmp_path, Faulty(), Echo()) as (host, client):
            with caplog.at_level(logging.ERROR, logger="dufflebag"):
                r = await client.get("/ext/faulty/boom")
            assert r.status_code == 500
            assert r.json() == {"error": "extension error", "extension": "faulty"}
            assert (await client.get("/ext/echo/ping")).status_code == 200
            assert (await client.get("/ext/faulty/dict")).json()["extension"] == "faulty"
            assert host.state("faulty") is ExtensionState.ACTIVE
            record = next(r for r in caplog.records if "boom" in r.getMessage())
            assert getattr(record, "extension", None) == "faulty"
            assert "GET /ext/faulty/boom" in record.getMessage()
            assert getattr(record, "request_path", None) == "/ext/faulty/boom"

    run(body())


def test_repeated_failures_auto_disable_until_an_admin_enables(tmp_path: Path) -> None:
    options = HostOptions(failure_threshold=3, failure_window_s=60)

    async def body() -> None:
        async with serve(tmp_path, Faulty(), Echo(), options=options) as (host, client):
            for _ in range(2):
                assert (await client.get("/ext/faulty/boom")).status_code == 500
            assert host.state("faulty") is ExtensionState.ACTIVE
            assert (await client.get("/ext/faulty/boom")).status_code == 500
            assert host.state("faulty") is ExtensionState.AUTO_DISABLED
            assert (await client.get("/ext/faulty/boom")).status_code == 404
            assert (await client.get("/ext/echo/ping")).status_code == 200
            details = await client.get("/api/v1/extensions/faulty", headers=auth("user"))
            assert details.json()["state"] == "auto_disabled"
            assert "3 failures" in details.json()["disabled_reason"]
            refused = await client.post("/api/v1/extensions/faulty/enable", headers=auth("user"))
            assert refused.status_code == 403
            r = await client.post("/api/v1/extensions/faulty/enable", headers=auth("admin"))
            assert r.json() == {"name": "faulty", "state": "active"}
            assert (await client.get("/ext/faulty/boom")).status_code == 500
            assert host.state("faulty") is ExtensionState.ACTIVE  # the window was reset

    run(body())


def test_failures_outside_the_window_do_not_add_up(tmp_path: Path) -> None:
    options = HostOptions(failure_threshold=2, failure_window_s=0.2)

    async def body() -> None:
        async with serve(tmp_path, Faulty(), options=options) as (host, client):
            await client.get("/ext/faulty/boom")
            await anyio.sleep(0.3)
            await client.get("/ext/faulty/boom")
            assert host.state("faulty") is ExtensionState.ACTIVE

    run(body())


def test_awaited_hang_is_504_while_others_are_served(tmp_path: Path) -> None:
    options = HostOptions(request_timeout_s=0.5)

    async def body() -> None:
        async with serve(tmp_path, Faulty(), Echo(), options=options) as (_host, client):
            results: dict[str, Any] = {}

            async def hang() -> None:
                started = time.perf_counter()
                results["hang"] = await client.get("/ext/faulty/hang")
                results["hang_s"] = time.perf_counter() - started

            async with anyio.create_task_group() as tg:
                tg.start_soon(hang)
                await anyio.sleep(0.05)
                started = time.perf_counter()
                for _ in range(10):
                    assert (await client.get("/ext/echo/ping")).status_code == 200
                others = time.perf_counter() - started
            assert results["hang"].status_code == 504
            assert results["hang"].json() == {"error": "request timed out", "extension": "faulty"}
            assert 0.45 < results["hang_s"] < 2.0
            assert others < 0.4  # served while the hang was pending

    run(body())


def test_quota_timeout_tightens_the_host_timeout(tmp_path: Path) -> None:
    quotas = Quotas(request_timeout_s=0.2)

    async def body() -> None:
        async with serve(tmp_path, (Faulty(), {"quotas": quotas})) as (_host, client):
            started = time.perf_counter()
            assert (await client.get("/ext/faulty/hang")).status_code == 504
            assert time.perf_counter() - started < 1.0

    run(body())


def test_sync_handler_runs_off_the_event_loop(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Faulty(), Echo()) as (_host, client):
            got: dict[str, Any] = {}

            async def slow() -> None:
                got["slow"] = await client.get("/ext/faulty/blocking")

            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                await anyio.sleep(0.05)
                started = time.perf_counter()
                assert (await client.get("/ext/echo/ping")).status_code == 200
                assert time.perf_counter() - started < 0.3
            assert got["slow"].json() == {"slept": True}

    run(body())


class Gate(Extension):
    metadata = meta("gate")

    def __init__(self) -> None:
        self.open = anyio.Event()

    def register_routes(self, router: Any) -> None:
        async def wait(request: Request) -> Response:
            await self.open.wait()
            return JSONResponse({"done": True})

        async def quick(request: Request) -> Response:
            return JSONResponse({"quick": True})

        router.get("/wait", wait)
        router.get("/quick", quick)


def test_concurrency_quota_answers_503(tmp_path: Path) -> None:
    gate = Gate()

    async def body() -> None:
        added = (gate, {"quotas": Quotas(concurrent_requests=2)})
        async with serve(tmp_path, added) as (_host, client):
            statuses: list[int] = []

            async def call() -> None:
                statuses.append((await client.get("/ext/gate/wait")).status_code)

            async with anyio.create_task_group() as tg:
                tg.start_soon(call)
                tg.start_soon(call)
                await anyio.sleep(0.05)
                r = await client.get("/ext/gate/quick")
                assert r.status_code == 503 and r.json()["extension"] == "gate"
                gate.open.set()
            assert statuses == [200, 200]
            assert (await client.get("/ext/gate/quick")).status_code == 200
            metrics = await client.get("/api/v1/extensions/gate/metrics", headers=auth("user"))
            assert metrics.json()["rejected"] == {"concurrency": 1}

    run(body())


def test_rate_quota_answers_429_then_recovers(tmp_path: Path) -> None:
    async def body() -> None:
        added = (Gate(), {"quotas": Quotas(requests_per_second=5)})
        async with serve(tmp_path, added) as (_host, client):
            statuses = [(await client.get("/ext/gate/quick")).status_code for _ in range(6)]
            assert statuses == [200] * 5 + [429]
            limited = await client.get("/ext/gate/quick")
            assert limited.headers["retry-after"] == "1"
            await anyio.sleep(0.25)
            assert (await client.get("/ext/gate/quick")).status_code == 200

    run(body())


def _raising_middleware(app: Any) -> Any:
    async def mw(scope: Any, receive: Any, send: Any) -> None:
        if scope["path"].endswith("/ping"):
            raise ValueError("middleware broke")
        await app(scope, receive, send)

    return mw


class BadMiddleware(Extension):
    metadata = meta("badmw")

    def middleware(self) -> list[Middleware]:
        factory: MiddlewareFactory = _raising_middleware
        return [Middleware("breaker", factory, paths=("/ext/echo/*",))]


def test_middleware_failure_is_blamed_on_its_own_extension(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, BadMiddleware(), Echo()) as (_host, client):
            r = await client.get("/ext/echo/ping")
            assert r.json() == {"error": "extension error", "extension": "badmw"}
            assert (await client.get("/ext/echo/items/1")).status_code == 200
            details = await client.get("/api/v1/extensions/badmw", headers=auth("user"))
            assert details.json()["failures"]["total"] == 1
            echo = await client.get("/api/v1/extensions/echo", headers=auth("user"))
            assert echo.json()["failures"]["total"] == 0

    run(body())


class FailsAt(Extension):
    def __init__(self, name: str, step: str, mode: str = "raise") -> None:
        self.metadata = meta(name)  # type: ignore[misc]
        self.step = step
        self.mode = mode
        self.stopped = 0

    async def _act(self, step: str) -> None:
        if step == self.step:
            if self.mode == "hang":
                await anyio.sleep(30)
            raise RuntimeError("boom")

    async def initialize(self, services: Any) -> None:
        await super().initialize(services)
        await self._act("initialize")

    def register_routes(self, router: Any) -> None:
        async def ping(request: Request) -> Response:
            return JSONResponse({})

        router.get("/ping", ping)

    async def start(self) -> None:
        await self._act("start")

    async def stop(self) -> None:
        self.stopped += 1


@pytest.mark.parametrize(
    ("step", "mode", "message"),
    [
        ("initialize", "raise", "initialize raised RuntimeError: boom"),
        ("start", "raise", "start raised RuntimeError: boom"),
        ("initialize", "hang", "initialize timed out after 0.3s"),
    ],
)
def test_failing_lifecycle_step_leaves_the_extension_unloaded(
    tmp_path: Path, step: str, mode: str, message: str
) -> None:
    broken = FailsAt("broken", step, mode)

    async def body() -> None:
        options = HostOptions(lifecycle_timeout_s=0.3)
        async with serve(tmp_path, broken, Echo(), options=options) as (host, client):
            assert host.state("broken") is ExtensionState.FAILED
            assert host.load_errors == {"broken": message}
            assert (await client.get("/ext/broken/ping")).status_code == 404
            assert (await client.get("/ext/echo/ping")).status_code == 200
            listed = await client.get("/api/v1/extensions", headers=auth("user"))
            assert {"name": "broken", "version": "1.0.0", "state": "failed"} in listed.json()
            details = await client.get("/api/v1/extensions/broken", headers=auth("user"))
            assert details.json()["load_error"] == message
            r = await client.post("/api/v1/extensions/broken/enable", headers=auth("admin"))
            assert r.status_code == 409
        assert broken.stopped == 1  # resources released once initialize had run

    run(body())


def test_stop_errors_are_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class BadStop(Echo):
        async def stop(self) -> None:
            raise RuntimeError("cannot stop")

    async def body() -> None:
        with caplog.at_level(logging.ERROR, logger="dufflebag"):
            async with serve(tmp_path, BadStop("badstop"), Echo()):
                pass
        assert any("stop raised RuntimeError: cannot stop" in r.getMessage()
                   for r in caplog.records)

    run(body())
