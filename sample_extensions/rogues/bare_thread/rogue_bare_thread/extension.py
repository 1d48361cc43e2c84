"""A status page with a heartbeat counter kept by a background thread.

The thread is started with the low-level ``_thread`` module (a "lighter" thread),
which registers it nowhere in ``threading``; its loop checks a module-level flag
that ``stop()`` never touches (stop() lowers the instance's own flag instead).
"""

from __future__ import annotations

import _thread
import time

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services

_BEATING = {"on": True}


class Rogue(Extension):
    metadata = Metadata(
        name="bare_thread",
        version="1.0.0",
        description="Keeps a heartbeat counter for its status page",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/bare_thread",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        self.beats = 0
        self.running = False

    async def start(self) -> None:
        self.running = True
        _thread.start_new_thread(self._beat, ())

    async def stop(self) -> None:
        self.running = False  # <- the heartbeat reads _BEATING, not this

    def _beat(self) -> None:
        while _BEATING["on"]:
            self.beats += 1
            time.sleep(0.2)

    def register_routes(self, router: Router) -> None:
        router.get("/status", self.status)

    async def status(self, request: Request) -> Response:
        return JSONResponse({"beats": self.beats, "running": self.running})
