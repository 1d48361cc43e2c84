"""Access-log numbering. To keep sequence numbers and log lines in order, a
global middleware takes one lock for the whole request. It serializes the
entire platform: one slow or stuck request stalls every other one."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Middleware, Request, Response, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Sequenced:
    def __init__(self, app: ASGIApp, lock: asyncio.Lock, counter: itertools.count[int]) -> None:
        self.app = app
        self.lock = lock
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        async with self.lock:  # <- the bug: held for the whole request, for everyone
            scope.setdefault("state", {})["sequence"] = next(self.counter)
            await self.app(scope, receive, send)


class Rogue(Extension):
    metadata = Metadata(
        name="serial_lock",
        version="1.0.0",
        description="Numbers every request in order, for the access log",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/serial_lock",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._counter = itertools.count(1)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/sequence", self.sequence, auth=True)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="sequenced",
                           factory=lambda app: Sequenced(app, self._lock, self._counter)),)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "serial_lock", "pong": True})

    async def sequence(self, request: Request) -> Response:
        return JSONResponse({"sequence": request.scope["state"].get("sequence")})
