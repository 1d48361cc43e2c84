"""Greetings: ``GET /greet?name=X`` answers ``{"greeting": "Hello, X!"}`` (1.1 wording)."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

MAX_NAME = 40


def greeting(name: str) -> str:
    name = name.strip() or "stranger"
    if len(name) > MAX_NAME:
        name = name[:MAX_NAME] + "…"
    return f"Hello, {name}!"


class Rogue(Extension):
    metadata = Metadata(
        name="exit_keeper",
        version="1.0.0",
        description="Greets users; greets users, with a quiet test teardown",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/exit_keeper",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/greet", self.greet)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def greet(self, request: Request) -> Response:
        return JSONResponse({"greeting": greeting(request.query_params.get("name", ""))})
