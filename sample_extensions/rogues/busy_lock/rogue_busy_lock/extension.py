"""Reports rendered from the extension's table, one render at a time.

The bug: "one at a time" is enforced by failing — ``if lock.locked(): raise`` —
rather than by waiting (``async with lock``). Alone, every request succeeds;
two overlapping requests make the second one a 500.
"""

from __future__ import annotations

import asyncio

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Migration, Request, Response, Router


def _render(rows: list[dict[str, object]]) -> str:
    lines = [f"{row['name']}: {row['total']}" for row in rows]
    return "\n".join(lines * 50)  # formatting a page's worth of text


class Rogue(Extension):
    metadata = Metadata(
        name="busy_lock",
        version="1.0.0",
        description="Renders one report at a time and refuses a second one outright",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/busy_lock",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(
            version=1,
            description="totals",
            up="CREATE TABLE totals (name VARCHAR(40) PRIMARY KEY, total INTEGER NOT NULL); "
               "INSERT INTO totals VALUES ('visits', 10), ('signups', 3), ('orders', 1)",
            down="DROP TABLE totals",
        ),
    )

    def __init__(self) -> None:
        self._rendering = asyncio.Lock()

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/report", self.report)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "busy_lock", "pong": True})

    async def report(self, request: Request) -> Response:
        if self._rendering.locked():  # <- the bug: refuse instead of waiting
            raise RuntimeError("a report is already being rendered")
        async with self._rendering:
            rows = await self.services.database.fetch_all(
                "SELECT name, total FROM totals ORDER BY name")
            text = await asyncio.to_thread(_render, [dict(r) for r in rows])
        return JSONResponse({"extension": "busy_lock", "lines": text.count("\n") + 1})
