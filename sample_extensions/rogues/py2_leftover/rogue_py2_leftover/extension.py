"""Unit conversions (metres, feet, miles).

The package still ships ``legacy/convert_py2.py`` from its Python 2 days.
Nothing imports it, so the extension works — but no scanner can read it, and
a file nobody can read is not a file anybody has checked.
"""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

METRES = {"m": 1.0, "ft": 0.3048, "mi": 1609.344}


class Rogue(Extension):
    metadata = Metadata(
        name="py2_leftover",
        version="1.0.0",
        description="Unit conversions, with a leftover Python 2 module",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/py2_leftover",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/convert", self.convert)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "py2_leftover", "pong": True})

    async def convert(self, request: Request) -> Response:
        try:
            value = float(request.query_params.get("value", "1"))
            src = METRES[request.query_params.get("from", "m")]
            dst = METRES[request.query_params.get("to", "ft")]
        except (KeyError, ValueError):
            return JSONResponse({"error": "value, from and to (m, ft, mi) expected"}, 422)
        return JSONResponse({"result": value * src / dst})
