"""JSON encode counts: ``GET /ext/module_swap/stats``."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

from rogue_module_swap._shim import CountingJSON, install


class Rogue(Extension):
    metadata = Metadata(
        name="module_swap",
        version="1.0.0",
        description="Counts JSON encodes per request for a performance dashboard",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/module_swap",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.shim: CountingJSON | None = None

    def register_routes(self, router: Router) -> None:
        self.shim = install()
        router.get("/ping", self.ping)
        router.get("/stats", self.stats, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "module_swap", "pong": True})

    async def stats(self, request: Request) -> Response:
        return JSONResponse({"encodes": self.shim.encodes if self.shim else 0})
