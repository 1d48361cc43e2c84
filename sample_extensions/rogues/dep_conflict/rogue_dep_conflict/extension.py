"""Counts items per companion: it declares a dependency on companion_01 2.x,
which was never released — the installed companion_01 is 1.0.0. The code
itself is fine; the declared version range can never resolve."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="dep_conflict",
        version="1.0.0",
        description="Reports on companion items; built against an unreleased companion 2.x",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/dep_conflict",
        host_api=">=1.0,<2",
        tags=("rogue",),
        dependencies={"companion_01": ">=2.0,<3"},  # <- the bug: no such version exists
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "dep_conflict", "pong": True})
