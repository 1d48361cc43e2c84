"""Page-view counter whose batches are flushed by a relay of one-shot timer ticks.

Each tick is a short-lived thread: it waits one flush interval, flushes the batch,
then starts the next tick and ends. ``stop()`` marks the relay as cancelled, but
each tick carries the relay's settings as they were when the relay started (a
"snapshot so a reload cannot change a tick in flight"), cancel flag included.
"""

from __future__ import annotations

import _thread
import time
from dataclasses import dataclass, replace

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

FLUSH_EVERY_S = 0.12


@dataclass(frozen=True)
class _Relay:
    interval_s: float
    cancelled: bool = False


class Rogue(Extension):
    metadata = Metadata(
        name="relay_timer",
        version="1.0.0",
        description="Batches page views and flushes them on a short relay timer",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/relay_timer",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._relay = _Relay(FLUSH_EVERY_S)
        self._batch = 0
        self._flushed = 0

    async def start(self) -> None:
        self._relay = _Relay(FLUSH_EVERY_S)
        self._arm(self._relay)

    async def stop(self) -> None:
        self._relay = replace(self._relay, cancelled=True)
        self._flush()

    def _arm(self, relay: _Relay) -> None:
        _thread.start_new_thread(self._tick, (relay,))

    def _tick(self, relay: _Relay) -> None:
        time.sleep(relay.interval_s)
        self._flush()
        if not relay.cancelled:  # <- the relay's own copy: never cancelled
            self._arm(relay)

    def _flush(self) -> None:
        self._flushed += self._batch
        self._batch = 0

    def register_routes(self, router: Router) -> None:
        router.get("/views", self.views)

    async def views(self, request: Request) -> Response:
        self._batch += 1
        return JSONResponse({"pending": self._batch, "flushed": self._flushed})
