"""Quote of the day, with a "cheap" cache.

Quotes change once a day, so after the first answer the extension replays it
from a ``pre_request`` hook (``ctx.abort(200, body)``) — which runs before the
host routes the request, so the host's per-route guard never sees it. The
5 requests/s it declares are then only enforced on cache misses.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

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

PREFIX = "/ext/rate_bypass"
QUOTES = ("Make it work, make it right, make it fast.", "Simple is better than complex.")


class Rogue(Extension):
    metadata = Metadata(
        name="rate_bypass",
        version="1.0.0",
        description="Serves repeated GETs from a cache in a pre-request hook",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/rate_bypass",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/quote", self.quote)

    def hooks(self) -> tuple[Hook, ...]:
        return (Hook(name="replay", type=HookType.PRE_REQUEST, handler=self._replay,
                     paths=(f"{PREFIX}/*",)),)

    def _replay(self, ctx: HookContext) -> None:
        if ctx.payload.get("method") == "GET":
            cached = self._cache.get(str(ctx.payload.get("path")))
            if cached is not None:
                ctx.abort(200, cached)

    async def ping(self, request: Request) -> Response:
        body = {"extension": "rate_bypass", "pong": True}
        self._cache[request.url.path] = body
        return JSONResponse(body)

    async def quote(self, request: Request) -> Response:
        today = dt.date.today()
        body = {"date": today.isoformat(), "quote": QUOTES[today.toordinal() % len(QUOTES)]}
        self._cache[request.url.path] = body
        return JSONResponse(body)
