"""Invoice totals: ``GET /ext/json_compat/totals``."""

from __future__ import annotations

import datetime
import decimal
import json

from dufflebag_harness.sdk import Extension, Metadata, Request, Response, Router
from rogue_json_compat import _compat

_compat.install()

TOTALS = {"net": decimal.Decimal("120.50"), "tax": decimal.Decimal("22.90"),
          "due": datetime.date(2026, 1, 31)}


class Rogue(Extension):
    metadata = Metadata(
        name="json_compat",
        version="1.0.0",
        description="Invoice totals as JSON, with Decimal amounts and dates",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/json_compat",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/totals", self.totals)

    async def ping(self, request: Request) -> Response:
        return Response(json.dumps({"extension": "json_compat", "pong": True}),
                        media_type="application/json")

    async def totals(self, request: Request) -> Response:
        return Response(json.dumps(TOTALS), media_type="application/json")
