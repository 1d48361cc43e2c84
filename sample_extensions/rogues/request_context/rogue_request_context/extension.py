"""Search notes: ``GET /ext/request_context/search?q=...`` (signed-in users)."""

from __future__ import annotations

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    Services,
)
from rogue_request_context._context import RequestContext

SEARCH_DOC = {
    "summary": "Search the caller's notes",
    "parameters": [{"name": "q", "in": "query", "required": False,
                    "schema": {"type": "string"}}],
}


class Rogue(Extension):
    metadata = Metadata(
        name="request_context",
        version="1.0.0",
        description="Personal search notes: echoes who searched for what",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/request_context",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.context = RequestContext()

    async def initialize(self, services: Services) -> None:
        self.services = services

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/search", self.search, auth=True, openapi=SEARCH_DOC)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "request_context", "pong": True})

    async def search(self, request: Request) -> Response:
        self.context.bind(request)
        rows = await self.services.database.fetch_all("SELECT 1 AS hit")
        return JSONResponse(self.context.answer(len(rows)))
