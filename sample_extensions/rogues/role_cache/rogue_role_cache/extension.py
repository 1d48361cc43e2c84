"""Team reports: everyone signed in reads the summary, admins export the raw rows.

The export checks the role in its handler. The author keeps "our" roles per
user in a cache (role lookups showed up in a profile) and normalises them to
the roles the extension knows — which drops ``deleted``, the one that
outranks the rest.
"""

from __future__ import annotations

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    User,
    current_user,
)

#: The roles this extension cares about.
KNOWN_ROLES = frozenset({"admin", "manager", "user"})
_ROWS = [{"team": "north", "tickets": 12}, {"team": "south", "tickets": 7}]


class Rogue(Extension):
    metadata = Metadata(
        name="role_cache",
        version="1.0.0",
        description="Team reports with an admin-only export",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/role_cache",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._roles: dict[int, frozenset[str]] = {}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/summary", self.summary, auth=True)
        router.get("/export", self.export)  # checked in the handler

    def _roles_of(self, user: User) -> frozenset[str]:
        if user.id not in self._roles:
            self._roles[user.id] = user.roles & KNOWN_ROLES  # <- the bug: "deleted" dropped
        return self._roles[user.id]

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "role_cache", "pong": True})

    async def summary(self, request: Request) -> Response:
        return JSONResponse({"teams": len(_ROWS), "tickets": sum(r["tickets"] for r in _ROWS)})

    async def export(self, request: Request) -> Response:
        user = current_user(request)
        if user is None:
            return JSONResponse({"error": "sign in first"}, status_code=401)
        if "admin" not in self._roles_of(user):
            return JSONResponse({"error": "admins only"}, status_code=403)
        return JSONResponse({"rows": _ROWS})
