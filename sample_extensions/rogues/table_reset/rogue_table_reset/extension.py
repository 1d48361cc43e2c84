"""A "factory reset" for admins that empties every table of the extension's schema,
found from the catalog — ext_migrations included. The next start finds no migration
applied and runs them all again over the existing tables."""

from __future__ import annotations

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Migration,
    Request,
    Response,
    Router,
    Services,
)

_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
    "postgresql": "SELECT table_name AS name FROM information_schema.tables "
                  "WHERE table_schema = current_schema()",
}


class Rogue(Extension):
    metadata = Metadata(
        name="table_reset",
        version="1.0.0",
        description="An admin reset that empties every table of its schema, ext_migrations "
                    "included",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/table_reset",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(1, "counters", "CREATE TABLE counters (name TEXT PRIMARY KEY, n INTEGER)",
                  "DROP TABLE counters"),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/reset", self.reset, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "table_reset", "pong": True})

    async def reset(self, request: Request) -> Response:
        db = self.services.database
        tables = [row["name"] for row in await db.fetch_all(_TABLES[db.backend])]
        for table in tables:
            await db.execute(f'DELETE FROM "{table}"')
        return JSONResponse({"emptied": sorted(tables)})
