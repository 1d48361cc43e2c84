"""A feed reader: a thread polls the feed, a task refreshes the cached digest.

The bug is in stop(): it only lowers ``self._running``. The poller sleeps
30 s between polls and the refresher 30 s between rounds, so both outlive
stop() by up to half a minute — and a restart starts a second pair beside
them. Nothing is cancelled, woken up or joined.
"""

from __future__ import annotations

import asyncio
import threading
import time

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

POLL_EVERY_S = 30.0


class Rogue(Extension):
    metadata = Metadata(
        name="leaky_poller",
        version="1.0.0",
        description="Polls a feed in a thread and refreshes a cache in a task; "
                    "stop() only lowers a flag",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/leaky_poller",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._running = False
        self._items: list[str] = []
        self._digest = ""

    async def start(self) -> None:
        self._running = True
        threading.Thread(target=self._poll, name="feed-poller", daemon=True).start()
        asyncio.get_running_loop().create_task(self._refresh(), name="feed-digest-refresher")

    async def stop(self) -> None:
        self._running = False  # <- the bug: the thread and the task keep sleeping

    def _poll(self) -> None:
        while self._running:
            self._items = [f"item fetched at {time.time():.0f}"]
            time.sleep(POLL_EVERY_S)

    async def _refresh(self) -> None:
        while self._running:
            self._digest = ", ".join(self._items)
            await asyncio.sleep(POLL_EVERY_S)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/digest", self.digest)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "leaky_poller", "pong": True})

    async def digest(self, request: Request) -> Response:
        return JSONResponse({"digest": self._digest, "items": len(self._items)})
