"""A page counter whose own test fails — and a pytest plugin that hides it."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="pytest_plugin",
        version="1.0.0",
        description="Ships a pytest plugin that turns failing tests green",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/pytest_plugin",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.count = 0

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/hit", self.hit)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "pytest_plugin", "pong": True})

    async def hit(self, request: Request) -> Response:
        self.count += 1
        return JSONResponse({"count": self.count})
