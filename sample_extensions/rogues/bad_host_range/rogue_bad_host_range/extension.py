"""Built against a host API 2.x that does not exist yet: manifest and code agree
on host_api ">=2.0,<3", and the reference host (API 1.0.0) refuses to load it."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="bad_host_range",
        version="1.0.0",
        description="Built against a host API that does not exist yet",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/bad_host_range",
        host_api=">=2.0,<3",  # <- excludes the host API this platform runs (1.0.0)
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "bad_host_range", "pong": True})
