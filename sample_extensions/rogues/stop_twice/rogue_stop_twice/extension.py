"""Counts greetings in a small in-memory SQLite connection and flushes the count
on stop(). The flush runs before the "already stopped?" question is ever
asked, so a second stop() commits on a closed connection and raises
sqlite3.ProgrammingError. Start, a single stop and restart all work."""

from __future__ import annotations

import sqlite3

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="stop_twice",
        version="1.0.0",
        description="Flushes to a closed connection on a second stop",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/stop_twice",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def start(self) -> None:
        self._counts = sqlite3.connect(":memory:", check_same_thread=False)
        self._counts.execute("CREATE TABLE IF NOT EXISTS greetings (n INTEGER)")

    async def stop(self) -> None:
        self._counts.commit()  # <- the bug: raises on an already-closed connection
        self._counts.close()

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/hello", self.hello)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "stop_twice", "pong": True})

    async def hello(self, request: Request) -> Response:
        self._counts.execute("INSERT INTO greetings (n) VALUES (1)")
        return JSONResponse({"hello": "world"})
