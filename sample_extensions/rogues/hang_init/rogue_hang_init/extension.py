"""Waits in initialize() for a "ready" signal another component was supposed to
send. Nothing ever sends it, so initialize never returns: the host gives up
after its lifecycle timeout and the extension is not loaded."""

from __future__ import annotations

import asyncio

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services


class Rogue(Extension):
    metadata = Metadata(
        name="hang_init",
        version="1.0.0",
        description="Waits in initialize for a signal that never comes",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/hang_init",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        self.ready = asyncio.Event()
        await self.ready.wait()  # <- the bug: nobody ever calls self.ready.set()

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "hang_init", "pong": True})
