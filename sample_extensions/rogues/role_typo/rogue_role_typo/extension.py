"""An audit-export extension. The route declares roles=("admin",) — and then the
handler double-checks with has_role("Admin"), capitalized. Role names are
lower-case, so the check never matches and every admin gets 403."""

from __future__ import annotations

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    current_user,
)


class Rogue(Extension):
    metadata = Metadata(
        name="role_typo",
        version="1.0.0",
        description="Requires the role Admin (capitalized) in its handler",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/role_typo",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/export", self.export, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "role_typo", "pong": True})

    async def export(self, request: Request) -> Response:
        user = current_user(request)
        if user is None or not user.has_role("Admin"):  # <- the typo: roles are lower-case
            return JSONResponse({"error": "forbidden"}, status_code=403)
        return JSONResponse({"rows": []})
