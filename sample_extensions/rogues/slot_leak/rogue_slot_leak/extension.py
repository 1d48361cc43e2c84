"""Exports, at most two at a time, metered by a pair of request hooks.

The bug: the slot taken in ``pre_request`` is only given back in
``post_request``. The host skips a disabled extension's hooks, including the
``post_request`` of requests already in flight, so disabling the extension
under load loses the slots those requests held. Once both are lost, every
request waits two seconds and is refused with 503.
"""

from __future__ import annotations

import asyncio
import time

from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
)

PREFIX = "/ext/slot_leak"
SLOTS = 2
WAIT_S = 2.0


class Rogue(Extension):
    metadata = Metadata(
        name="slot_leak",
        version="1.0.0",
        description="Caps concurrent exports with a slot taken in pre_request and freed in "
                    "post_request",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/slot_leak",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.busy = 0

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/export", self.export)

    def hooks(self) -> tuple[Hook, ...]:
        paths = (f"{PREFIX}/*",)
        return (
            Hook(name="take_slot", type=HookType.PRE_REQUEST, handler=self._take, paths=paths),
            Hook(name="free_slot", type=HookType.POST_REQUEST, handler=self._free, paths=paths),
        )

    async def _take(self, ctx: HookContext) -> None:
        deadline = time.monotonic() + WAIT_S
        while self.busy >= SLOTS:
            if time.monotonic() > deadline:
                ctx.abort(503, {"error": "too many exports in progress, try again later"})
                return
            await asyncio.sleep(0.01)
        self.busy += 1

    def _free(self, ctx: HookContext) -> None:
        self.busy -= 1  # <- the bug: never runs for requests in flight when disabled

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "slot_leak", "pong": True})

    async def export(self, request: Request) -> Response:
        await asyncio.sleep(0.02)  # stands in for gathering the export's rows
        return JSONResponse({"extension": "slot_leak", "rows": 0})
