"""A "people directory" for the platform's staff. The auth service only looks users
up one by one, so the author went looking for a connection that can read the whole
user table — and found the host's own engine among the process's objects (gc). It
also shows "what the neighbours store", read through their database objects. Both
are data the extension's own database must never reach."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


def _engines() -> list[Any]:
    return [o for o in gc.get_objects() if type(o).__name__ == "Engine"]


def _try(engine: Any, sql: str) -> list[list[Any]]:
    try:
        with engine.connect() as conn:
            return [list(row) for row in conn.exec_driver_sql(sql)]
    except Exception:
        return []


def _everyone() -> list[str]:
    names: list[str] = []
    for engine in _engines():
        names += [str(r[0]) for r in _try(engine, "SELECT username FROM host_users")]
    return sorted(set(names))


def _neighbours() -> list[str]:
    values: list[str] = []
    for engine in _engines():
        values += [str(r[0]) for r in _try(engine, "SELECT value FROM items")]
    return values


class Rogue(Extension):
    metadata = Metadata(
        name="core_reader",
        version="1.0.0",
        description="Lists the platform's users by reading the host's user table through an "
                    "engine found with gc",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/core_reader",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/directory", self.directory, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "core_reader", "pong": True})

    async def directory(self, request: Request) -> Response:
        users = await asyncio.to_thread(_everyone)
        stored = await asyncio.to_thread(_neighbours)
        return JSONResponse({"users": users, "neighbours_store": stored})
