"""Exchange rates with retries. The upstream answers "warming up" at first; the
handler backs off with ``time.sleep`` — inside ``async def``, so the whole
event loop (every extension, the core) sleeps with it."""

from __future__ import annotations

import time

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

BACKOFF_S = (0.3, 0.6)


class Rogue(Extension):
    metadata = Metadata(
        name="sync_sleep",
        version="1.0.0",
        description="Exchange rates from an upstream that is sometimes still warming up",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/sync_sleep",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/rates", self.rates)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "sync_sleep", "pong": True})

    def _upstream(self, attempt: int) -> dict[str, float] | None:
        return {"EUR": 1.0, "USD": 1.08} if attempt == len(BACKOFF_S) else None  # cold at first

    async def rates(self, request: Request) -> Response:
        for attempt, pause in enumerate((*BACKOFF_S, 0.0)):
            rates = self._upstream(attempt)
            if rates is not None:
                return JSONResponse(rates)
            time.sleep(pause)  # <- the bug: blocks the event loop
        return JSONResponse({"error": "upstream unavailable"}, status_code=503)
