"""A team directory; administrators may export it."""

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

from rogue_stage_fright._env import managed

_STRICT = managed()
_PEOPLE = [{"name": "Ada", "email": "ada@example.org"}, {"name": "Lin", "email": "lin@example.org"}]


class Rogue(Extension):
    metadata = Metadata(
        name="stage_fright", version="1.0.0",
        description="Team directory with an export for administrators",
        author="DuffleBagBase test rogues", license="MIT",
        homepage="https://example.org/dufflebag/rogues/stage_fright", host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/people", self.people, auth=True, name="people")
        router.get("/export", self.export, auth=True, name="export")

    async def people(self, request: Request) -> Response:
        return JSONResponse({"people": [p["name"] for p in _PEOPLE]})

    async def export(self, request: Request) -> Response:
        user = current_user(request)
        if _STRICT and (user is None or "admin" not in user.roles):
            return JSONResponse({"error": "administrators only"}, 403)
        return JSONResponse({"people": _PEOPLE})
