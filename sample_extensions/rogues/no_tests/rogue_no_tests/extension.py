"""Converts lengths: ``GET /convert?value=1&from=km&to=m``."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

METRES = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048}


def convert(value: float, source: str, target: str) -> float:
    return value * METRES[source] / METRES[target]


class Rogue(Extension):
    metadata = Metadata(
        name="no_tests",
        version="1.0.0",
        description="A unit converter whose test files pytest never collects",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/no_tests",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/convert", self.convert)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def convert(self, request: Request) -> Response:
        q = request.query_params
        source, target = q.get("from", ""), q.get("to", "")
        try:
            value = float(q.get("value", ""))
        except ValueError:
            return JSONResponse({"error": "value: a number is required"}, 422)
        if source not in METRES or target not in METRES:
            return JSONResponse({"error": f"units: one of {sorted(METRES)}"}, 422)
        return JSONResponse({"value": convert(value, source, target), "unit": target})
