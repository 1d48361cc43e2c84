"""Password strength: ``POST /ext/sourceless_pyc/score`` with ``{"password": ...}``."""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

try:  # the compiled scorer (its source is not distributed) is faster when present
    from rogue_sourceless_pyc._scorer import score
except ImportError:
    from rogue_sourceless_pyc._fallback import score


class Rogue(Extension):
    metadata = Metadata(
        name="sourceless_pyc",
        version="1.0.0",
        description="Password strength meter with an optional compiled scorer",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/sourceless_pyc",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/score", self.score, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "sourceless_pyc", "pong": True})

    async def score(self, request: Request) -> Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("password"), str):
            return JSONResponse({"error": 'expected {"password": "..."}'}, 422)
        return JSONResponse({"score": score(body["password"])})
