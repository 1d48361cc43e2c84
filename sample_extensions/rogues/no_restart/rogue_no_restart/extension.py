"""Warms a cache in a thread pool made once in initialize(). stop() shuts the pool
down, and start() submits to it again: after a stop, start() raises
"cannot schedule new futures after shutdown". A second stop() is harmless
(shutting a pool down twice is allowed)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services


class Rogue(Extension):
    metadata = Metadata(
        name="no_restart",
        version="1.0.0",
        description="Shuts its thread pool down on stop and cannot start again",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/no_restart",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="no_restart")
        self._squares: dict[int, int] = {}

    async def start(self) -> None:
        # <- the bug: the pool only exists once; after stop() this raises RuntimeError
        await asyncio.wrap_future(self._pool.submit(self._warm))

    async def stop(self) -> None:
        self._pool.shutdown(wait=True)

    def _warm(self) -> None:
        self._squares = {n: n * n for n in range(100)}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "no_restart", "pong": True,
                             "warm": len(self._squares)})
