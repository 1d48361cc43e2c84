"""A notes listing with pagination, documented properly, implemented carelessly.

The OpenAPI document says ``page`` and ``per_page`` are optional integers and
that bad values get a 422. The handler converts them with a bare ``int()``, so
``?page=abc`` raises ``ValueError`` and the client gets a 500 instead.
"""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

NOTES = tuple(f"note {i}" for i in range(1, 24))

_ERROR: dict[str, Any] = {"type": "object", "required": ["error"],
                          "properties": {"error": {"type": "string"}}}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PING_DOC: dict[str, Any] = {"responses": {"200": _json("Alive.", {
    "type": "object", "required": ["pong"], "properties": {"pong": {"const": True}}})}}

NOTES_DOC: dict[str, Any] = {
    "parameters": [
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "default": 1}},
        {"name": "per_page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 10}},
    ],
    "responses": {
        "200": _json("One page of notes.", {
            "type": "object", "required": ["page", "notes"],
            "properties": {"page": {"type": "integer", "minimum": 1},
                           "notes": {"type": "array", "items": {"type": "string"}}}}),
        "422": _json("page or per_page out of range.", _ERROR),
    },
}


class Rogue(Extension):
    metadata = Metadata(
        name="fuzz_crash",
        version="1.0.0",
        description="Lists notes page by page; trusts its query parameters",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/fuzz_crash",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping, openapi=PING_DOC)
        router.get("/notes", self.notes, openapi=NOTES_DOC)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def notes(self, request: Request) -> Response:
        page = int(request.query_params.get("page", "1"))  # <- the bug: ValueError → 500
        per_page = int(request.query_params.get("per_page", "10"))
        if page < 1 or not 1 <= per_page <= 50:
            return JSONResponse({"error": "page must be >= 1, per_page 1 to 50"}, 422)
        start = (page - 1) * per_page
        return JSONResponse({"page": page, "notes": list(NOTES[start:start + per_page])})
