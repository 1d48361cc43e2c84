"""ETags for reports. To compute the hash before sending, the middleware runs
the application once into a buffer, hashes what came out, then runs it again
to stream the real answer — so every handler behind it runs twice per
request (twice the database work, twice every side effect)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Middleware, Request, Response, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ETags:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def buffer(message: Message) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b""))

        await self.app(scope, receive, buffer)  # <- the bug: a dry run of the whole chain
        etag = '"' + hashlib.sha256(bytes(body)).hexdigest()[:16] + '"'
        if dict(scope["headers"]).get(b"if-none-match", b"").decode("latin-1") == etag:
            await send({"type": "http.response.start", "status": 304,
                        "headers": [(b"etag", etag.encode())]})
            await send({"type": "http.response.body", "body": b""})
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"etag", etag.encode())]
            await send(message)

        await self.app(scope, receive, tagged)


class Rogue(Extension):
    metadata = Metadata(
        name="etag_double",
        version="1.0.0",
        description="Conditional GETs for its reports: ETag and 304 Not Modified",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/etag_double",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._renders = itertools.count(1)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/report", self.report)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="etags", factory=ETags, paths=("/ext/etag_double/*",)),)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "etag_double", "pong": True})

    async def report(self, request: Request) -> Response:
        return JSONResponse({"report": "weekly", "renders": next(self._renders)})
