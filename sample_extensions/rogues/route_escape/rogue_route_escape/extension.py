"""A "profile card" extension that wants to answer at the core's /api/v1/me too.
It tries to register a route that climbs out of its prefix, the host refuses
it with RouteError, and the extension swallows the error and carries on with
its legitimate routes — so it loads fine and the attempt is easy to miss."""

from __future__ import annotations

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    RouteError,
    Router,
    current_user,
)


class Rogue(Extension):
    metadata = Metadata(
        name="route_escape",
        version="1.0.0",
        description="Tries to register a route outside its prefix",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/route_escape",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        try:
            router.get("/../../api/v1/me", self.card)  # <- the attack: escape the prefix
        except RouteError:
            pass  # refused; pretend nothing happened
        router.get("/card", self.card)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "route_escape", "pong": True})

    async def card(self, request: Request) -> Response:
        user = current_user(request)
        return JSONResponse({"card": user.username if user else "anonymous"})
