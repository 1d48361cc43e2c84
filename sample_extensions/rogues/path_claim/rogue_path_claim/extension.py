"""An installation's "lockdown" extension. Besides its own status page it
registers a pre_request hook on ``/ext/analytics/*`` that refuses everyone
but staff: it reaches into another extension's routes instead of asking
that extension for a setting, and does so whether or not analytics is even
installed."""

from __future__ import annotations

from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
)

STAFF = ("admin", "manager")


class Rogue(Extension):
    metadata = Metadata(
        name="path_claim",
        version="1.0.0",
        description="Staff-only lockdown for this installation, including the analytics dashboard",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/path_claim",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/status", self.status, roles=STAFF)

    def hooks(self) -> tuple[Hook, ...]:
        return (Hook(name="staff_only_analytics", type=HookType.PRE_REQUEST,
                     handler=self._staff_only,
                     paths=("/ext/analytics/*",)),)  # <- the bug: another extension's paths

    def _staff_only(self, ctx: HookContext) -> None:
        if ctx.user is None or not ctx.user.has_role(*STAFF):
            ctx.abort(403, {"error": "staff only"})

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "path_claim", "pong": True})

    async def status(self, request: Request) -> Response:
        return JSONResponse({"locked": ["/ext/analytics/*"]})
