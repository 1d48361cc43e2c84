"""A member list showing everyone's display name. On SQLite the author read the core
user table through the extension's own connection; the authorizer refused, so the
handler switches it off on that connection first. (On PostgreSQL the same query is
refused by the server, so there it asks the auth service, as it should everywhere.)"""

from __future__ import annotations

import asyncio
from typing import Any

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    Services,
)


def _names_sqlite(engine: Any) -> list[str]:
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        conn.set_authorizer(None)  # "not authorized" -> switch the check off
        rows = conn.execute("SELECT username FROM core.host_users ORDER BY username").fetchall()
        return [str(r[0]) for r in rows]
    finally:
        raw.close()


class Rogue(Extension):
    metadata = Metadata(
        name="authorizer_off",
        version="1.0.0",
        description="Switches SQLite's authorizer off on its own connection to join with the "
                    "core users",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/authorizer_off",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/members", self.members, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "authorizer_off", "pong": True})

    async def members(self, request: Request) -> Response:
        db = self.services.database
        if db.backend == "sqlite":
            return JSONResponse({"members": await asyncio.to_thread(_names_sqlite, db.engine)})
        names = []
        for user_id in range(1, 6):
            user = await self.services.auth.get_user(user_id)
            if user is not None:
                names.append(user.username)
        return JSONResponse({"members": names})
