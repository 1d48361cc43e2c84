"""An event log developed against SQLite only: AUTOINCREMENT is SQLite's spelling, and
PostgreSQL refuses the migration, so the extension does not load there at all."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Migration, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="sqlite_only",
        version="1.0.0",
        description="Migrations written for SQLite (AUTOINCREMENT) that PostgreSQL refuses",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/sqlite_only",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(1, "events",
                  "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                  "kind TEXT NOT NULL)",
                  "DROP TABLE events"),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "sqlite_only", "pong": True})
