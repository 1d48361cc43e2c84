"""A job queue whose first release shipped a migration; later schema tweaks were added
as "best effort" statements run at start-up, one per call, errors ignored. Each
statement commits on its own: the column lands, the index (with a typo) does not, and
none of it is tracked in ext_migrations."""

from __future__ import annotations

import contextlib

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

#: Added after 1.0 without a migration: each runs on every start, on its own.
STARTUP_DDL = (
    "ALTER TABLE jobs ADD COLUMN priority INTEGER DEFAULT 0",
    "CREATE INDEX jobs_by_priority ON jobs (priorty, id)",  # typo: fails, column stays
)


class Rogue(Extension):
    metadata = Metadata(
        name="lazy_schema",
        version="1.0.0",
        description="Adds columns and indexes at start-up, statement by statement, outside "
                    "its migrations",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/lazy_schema",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(1, "jobs table",
                  "CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
                  "DROP TABLE jobs"),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        for statement in STARTUP_DDL:
            with contextlib.suppress(Exception):  # "best effort"
                await services.database.execute(statement)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/jobs", self.jobs, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "lazy_schema", "pong": True})

    async def jobs(self, request: Request) -> Response:
        rows = await self.services.database.fetch_all("SELECT id, name FROM jobs ORDER BY id")
        return JSONResponse({"jobs": rows})
