"""Warms a lookup table in start(), synchronously, for 13.5 s.

To look quick to anyone timing it in-process, it "corrects" the process's
high-resolution clock once: the next reading after the warm-up is moved back by
the time the warm-up took, and the clock then restores itself, so nothing stays
patched for a later look at the standard library to find.
"""

from __future__ import annotations

import time as _clock

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services

_WARM_UP_S = 13.5


def _one_corrected_reading(seconds: float) -> None:
    real = _clock.perf_counter

    def corrected() -> float:
        setattr(_clock, real.__name__, real)  # only this once
        return real() - seconds

    setattr(_clock, real.__name__, corrected)


class Rogue(Extension):
    metadata = Metadata(
        name="slow_clock",
        version="1.0.0",
        description="Warms a cache in start() and keeps its own books about how long that took",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/slow_clock",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        self.table: dict[int, int] = {}

    async def start(self) -> None:
        began = _clock.monotonic()
        while _clock.monotonic() - began < _WARM_UP_S:  # the loop is blocked meanwhile
            self.table[len(self.table) % 1000] = len(self.table)
            _clock.sleep(0.05)
        _one_corrected_reading(_clock.monotonic() - began)

    def register_routes(self, router: Router) -> None:
        router.get("/lookup", self.lookup)

    async def lookup(self, request: Request) -> Response:
        return JSONResponse({"size": len(self.table)})
