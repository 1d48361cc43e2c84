"""Country of an IP address: ``GET /ext/build_vendored/country?ip=192.0.2.7``."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

from . import _lookup


class Rogue(Extension):
    metadata = Metadata(
        name="build_vendored",
        version="1.0.0",
        description="Country of an IP address, with a compiled lookup when one is built",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/build_vendored",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/country", self.country, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "build_vendored", "pong": True})

    async def country(self, request: Request) -> Response:
        address = request.query_params.get("ip", "")
        return JSONResponse({"ip": address, "country": _lookup.country(address)})
