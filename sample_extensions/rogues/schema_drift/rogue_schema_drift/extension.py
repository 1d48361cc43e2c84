"""Bookmark statistics whose answers no longer match what the API promises.

The OpenAPI document says ``count`` is an integer and ``average_length`` a
number. After a refactor, ``count`` is rendered as a string, and with no
bookmarks stored the average of nothing is ``None``, which goes out as ``null``.
Clients generated from the schema break on both.
"""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

_STATS: dict[str, Any] = {
    "type": "object",
    "required": ["count", "average_length"],
    "properties": {"count": {"type": "integer", "minimum": 0},
                   "average_length": {"type": "number", "minimum": 0}},
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PING_DOC: dict[str, Any] = {"responses": {"200": _json("Alive.", {
    "type": "object", "required": ["pong"], "properties": {"pong": {"const": True}}})}}
STATS_DOC: dict[str, Any] = {"responses": {"200": _json("Bookmark statistics.", _STATS)}}


class Rogue(Extension):
    metadata = Metadata(
        name="schema_drift",
        version="1.0.0",
        description="Bookmark statistics whose answers drifted from their documented schema",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/schema_drift",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.bookmarks: list[str] = []

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping, openapi=PING_DOC)
        router.get("/stats", self.stats, openapi=STATS_DOC)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def stats(self, request: Request) -> Response:
        lengths = [len(b) for b in self.bookmarks]
        average = sum(lengths) / len(lengths) if lengths else None  # <- null, not a number
        return JSONResponse({"count": str(len(lengths)),  # <- a string, not an integer
                             "average_length": average})
