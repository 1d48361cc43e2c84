"""A "reachability report" over a graph table, written as a recursive query without a
cycle guard: it never ends. The author saw it time out on PostgreSQL and switched the
statement timeout off for that session instead of fixing the query, so the server keeps
running it long after the request gave up."""

from __future__ import annotations

import asyncio
from typing import Any

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

REPORT = ("WITH RECURSIVE reach(node) AS (SELECT 1 UNION ALL SELECT node + 1 FROM reach) "
          "SELECT count(*) AS n FROM reach")


def _without_timeout(engine: Any) -> list[Any]:
    with engine.connect() as conn:
        conn.exec_driver_sql("SET statement_timeout = 0")  # "the report is just slow"
        return [list(row) for row in conn.exec_driver_sql(REPORT)]


class Rogue(Extension):
    metadata = Metadata(
        name="endless_report",
        version="1.0.0",
        description="A report query that recurses forever, with the statement timeout "
                    "switched off",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/endless_report",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(1, "edges", "CREATE TABLE edges (src INTEGER NOT NULL, dst INTEGER NOT NULL)",
                  "DROP TABLE edges"),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/report", self.report, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "endless_report", "pong": True})

    async def report(self, request: Request) -> Response:
        db = self.services.database
        if db.backend == "postgresql":
            rows = await asyncio.to_thread(_without_timeout, db.engine)
            return JSONResponse({"reachable": rows[0][0]})
        rows = await db.fetch_all(REPORT)
        return JSONResponse({"reachable": rows[0]["n"]})
