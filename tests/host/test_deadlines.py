"""Request and hook deadlines: one timer per loop, anyio's own cancellation semantics.

A request past its deadline is cut with 504 however many other requests with
other deadlines are in flight; the cut is level-triggered (swallowing it once
does not help) and waits for shielded work, as an anyio deadline does.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import anyio

from dufflebag_harness.inside.host import HostOptions
from dufflebag_harness.inside.host._deadlines import Deadlines
from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Quotas,
    Request,
    Response,
)

from ._helpers import auth, meta, run, serve


def test_each_scope_is_cancelled_at_its_own_deadline() -> None:
    async def main() -> dict[str, tuple[bool, float]]:
        watch = Deadlines().watch()
        results: dict[str, tuple[bool, float]] = {}

        async def wait(label: str, timeout_s: float) -> None:
            started = time.perf_counter()
            scope = watch.open(timeout_s)
            try:
                with scope:
                    await anyio.sleep(3)
            finally:
                watch.close(scope)
            results[label] = (scope.cancelled_caught, time.perf_counter() - started)

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait, "long", 0.3)
            await anyio.sleep(0.02)
            tg.start_soon(wait, "short", 0.1)  # an earlier deadline, registered later
        return results

    results = asyncio.run(main())
    assert results["short"][0] and 0.09 <= results["short"][1] < 0.25
    assert results["long"][0] and 0.29 <= results["long"][1] < 1.2


def test_a_closed_scope_is_never_cancelled() -> None:
    async def main() -> tuple[bool, int]:
        watch = Deadlines().watch()
        scope = watch.open(0.05)
        with scope:
            pass
        watch.close(scope)
        await anyio.sleep(0.15)  # past the deadline: the timer fires and finds nothing
        return scope.cancel_called, len(watch)

    assert asyncio.run(main()) == (False, 0)


def test_each_event_loop_gets_its_own_watch() -> None:
    deadlines = Deadlines()

    async def watches() -> tuple[Any, Any, asyncio.AbstractEventLoop]:
        return deadlines.watch(), deadlines.watch(), asyncio.get_running_loop()

    a1, a2, loop_a = asyncio.run(watches())
    b1, b2, loop_b = asyncio.run(watches())
    assert a1 is a2 and b1 is b2 and a1 is not b1
    assert a1.loop is loop_a and b1.loop is loop_b


class Stubborn(Extension):
    """Handlers that resist cancellation in the ways anyio deadlines handle."""

    metadata = meta("stubborn")

    def __init__(self) -> None:
        self.shielded_done = False
        self.release = anyio.Event()

    def register_routes(self, router: Any) -> None:
        async def swallow(request: Request) -> Response:
            try:
                await anyio.sleep(30)
            except anyio.get_cancelled_exc_class():
                pass  # "not now"
            await anyio.sleep(30)
            return JSONResponse({"finished": True})

        async def shielded(request: Request) -> Response:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.25)
                self.shielded_done = True
            await anyio.sleep(30)
            return JSONResponse({"finished": True})

        async def patient(request: Request) -> Response:
            await self.release.wait()
            return JSONResponse({"released": True})

        router.get("/swallow", swallow)
        router.get("/shielded", shielded)
        router.get("/patient", patient)


class Hasty(Extension):
    metadata = meta("hasty")

    def register_routes(self, router: Any) -> None:
        async def hang(request: Request) -> Response:
            await anyio.sleep(30)
            return JSONResponse({})

        router.get("/hang", hang)


def test_a_swallowed_cancellation_is_delivered_again(tmp_path: Path) -> None:
    async def body() -> None:
        options = HostOptions(request_timeout_s=0.2)
        async with serve(tmp_path, Stubborn(), options=options) as (_host, client):
            started = time.perf_counter()
            r = await client.get("/ext/stubborn/swallow")
            assert r.status_code == 504
            assert time.perf_counter() - started < 2.0

    run(body())


def test_shielded_work_finishes_before_the_request_is_cut(tmp_path: Path) -> None:
    ext = Stubborn()

    async def body() -> None:
        options = HostOptions(request_timeout_s=0.05)
        async with serve(tmp_path, ext, options=options) as (_host, client):
            started = time.perf_counter()
            r = await client.get("/ext/stubborn/shielded")
            elapsed = time.perf_counter() - started
            assert r.status_code == 504
            assert ext.shielded_done
            assert 0.25 <= elapsed < 2.0

    run(body())


def test_a_short_deadline_is_kept_while_a_longer_one_is_pending(tmp_path: Path) -> None:
    stubborn = Stubborn()

    async def body() -> None:
        options = HostOptions(request_timeout_s=5.0)
        hasty = (Hasty(), {"quotas": Quotas(request_timeout_s=0.2)})
        async with serve(tmp_path, stubborn, hasty, options=options) as (_host, client):
            got: dict[str, Any] = {}

            async def patient() -> None:
                got["patient"] = await client.get("/ext/stubborn/patient")

            async with anyio.create_task_group() as tg:
                tg.start_soon(patient)
                await anyio.sleep(0.05)  # the 5 s deadline is registered first
                started = time.perf_counter()
                got["hasty"] = await client.get("/ext/hasty/hang")
                got["hasty_s"] = time.perf_counter() - started
                stubborn.release.set()
            assert got["hasty"].status_code == 504
            assert got["hasty_s"] < 1.0
            assert got["patient"].json() == {"released": True}

    run(body())


class SlowHooks(Extension):
    """A sync hook that hands back something slow to await."""

    metadata = meta("slowhooks")

    def hooks(self) -> list[Hook]:
        def later(ctx: HookContext) -> Any:
            return anyio.sleep(30)

        return [Hook("later", HookType.PRE_REQUEST, later, paths=("/healthz",))]


def test_an_awaitable_returned_by_a_sync_hook_is_cut_at_the_hook_timeout(tmp_path: Path) -> None:
    async def body() -> None:
        options = HostOptions(hook_timeout_s=0.1)
        async with serve(tmp_path, SlowHooks(), options=options) as (_host, client):
            started = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            assert time.perf_counter() - started < 1.5
            details = await client.get("/api/v1/extensions/slowhooks", headers=auth("user"))
            assert details.json()["failures"]["total"] == 1

    run(body())
