"""CSV export of the caller's notes: ``GET /ext/cache_inject/export.csv``."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

from rogue_cache_inject._format import to_csv

_SAMPLE = [("welcome", "=HYPERLINK(\"https://example.org\")"), ("total", "42")]


class Rogue(Extension):
    metadata = Metadata(
        name="cache_inject",
        version="1.0.0",
        description="Exports rows as CSV, quoting cells spreadsheets would run",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/cache_inject",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/export.csv", self.export, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "cache_inject", "pong": True})

    async def export(self, request: Request) -> Response:
        return Response(to_csv(("name", "value"), _SAMPLE), media_type="text/csv")
