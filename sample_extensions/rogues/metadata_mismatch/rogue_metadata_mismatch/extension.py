"""Greeting cards. The author bumped extension.toml to 1.2.0 for the release and
forgot the version in code, which still says 1.1.0 — so the marketplace would
list one version while the platform runs (and reports) another."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="metadata_mismatch",
        version="1.1.0",  # <- the bug: extension.toml says 1.2.0
        description="Greeting cards; forgot to bump the version in code",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/metadata_mismatch",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/card", self.card)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "metadata_mismatch", "pong": True})

    async def card(self, request: Request) -> Response:
        return JSONResponse({"card": "Happy birthday!"})
