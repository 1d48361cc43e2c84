"""API retirement: v1 routes carry a ``Sunset`` header and, after the sunset
date, answer 410 Gone. The status comes from configuration as a string
("410"), and the hook assigns it as is: the host only takes an int status,
so it keeps the handler's 200 and v1 quietly lives on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
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

SUNSET = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


class Rogue(Extension):
    metadata = Metadata(
        name="sunset_status",
        version="2.0.0",
        description="Retires its v1 API: Sunset header, then 410 Gone after the date",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/sunset_status",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {"type": "object",
                     "properties": {"gone_status": {"type": "string", "pattern": "^[45][0-9]{2}$"}}}
    default_config = {"gone_status": "410"}

    def __init__(self) -> None:
        self._gone_status: Any = "410"

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self._gone_status = config.get("gone_status", "410")

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/v1/report", self.report)
        router.get("/v2/report", self.report)

    def hooks(self) -> tuple[Hook, ...]:
        return (Hook(name="sunset_v1", type=HookType.PRE_RESPONSE, handler=self._sunset,
                     paths=("/ext/sunset_status/v1/*",)),)

    def _sunset(self, ctx: HookContext) -> None:
        ctx.response_headers["sunset"] = "Wed, 01 Jan 2025 00:00:00 GMT"
        if dt.datetime.now(dt.UTC) >= SUNSET:
            ctx.status = self._gone_status  # <- the bug: "410" (a str) is not a status

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "sunset_status", "pong": True})

    async def report(self, request: Request) -> Response:
        return JSONResponse({"report": "weekly"})
