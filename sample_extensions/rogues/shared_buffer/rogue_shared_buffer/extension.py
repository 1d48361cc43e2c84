"""ETags for every GET response of the platform, and 304s for matching If-None-Match.

The bug: the response being buffered lives in ``_PENDING``, a module-level dict,
instead of a local variable. Requests that overlap — any two, of any extension,
since the middleware is global — overwrite each other's buffer, and each then
sends whatever the buffer holds when its hash (computed in a thread) is done.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Middleware, Request, Response, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_PENDING: dict[str, Any] = {}  # <- the bug: one buffer for every request in flight


def _etag(chunks: list[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return '"' + digest.hexdigest()[:32] + '"'


class ETagMiddleware:
    """Pure ASGI: buffer GET responses, add ``etag``, answer 304 when it matches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        _PENDING["start"], _PENDING["body"] = None, []

        async def buffer(message: Message) -> None:
            if message["type"] == "http.response.start":
                _PENDING["start"] = message
            elif message["type"] == "http.response.body":
                _PENDING["body"].append(message.get("body", b""))

        await self.app(scope, receive, buffer)
        etag = await asyncio.to_thread(_etag, _PENDING["body"])  # hash off the event loop
        start, body = _PENDING["start"], b"".join(_PENDING["body"])
        asked = dict(scope.get("headers") or ()).get(b"if-none-match", b"").decode("latin-1")
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"etag", etag.encode()))
        if asked == etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Rogue(Extension):
    metadata = Metadata(
        name="shared_buffer",
        version="1.0.0",
        description="Adds ETag headers to every GET response, buffering it in a module-level dict",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/shared_buffer",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="etag", factory=ETagMiddleware, priority=10),)  # every path

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "shared_buffer", "pong": True})
