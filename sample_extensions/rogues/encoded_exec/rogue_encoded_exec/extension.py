"""Markdown to HTML: ``POST /ext/encoded_exec/render`` with ``{"text": ...}``."""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

from rogue_encoded_exec._render import render


class Rogue(Extension):
    metadata = Metadata(
        name="encoded_exec",
        version="1.0.0",
        description="Renders a little Markdown (bold, italic, code) to HTML",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/encoded_exec",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/render", self.render, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "encoded_exec", "pong": True})

    async def render(self, request: Request) -> Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            return JSONResponse({"error": 'expected {"text": "..."}'}, 422)
        return JSONResponse({"html": render(body["text"])})
