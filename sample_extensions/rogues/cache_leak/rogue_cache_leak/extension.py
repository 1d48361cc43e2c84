"""Sales reports with a "performance" layer: a pure-ASGI middleware on the
extension's own paths caches successful GET responses by path for a minute
and replays them. It sits in front of the host's auth check and keys on the
path alone — so once an admin has opened /report, anyone (anonymous, a plain
user, a deleted account) gets the admin's report from the cache."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Middleware,
    Request,
    Response,
    Router,
    current_user,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TTL_S = 60.0


class ResponseCache:
    """Pure ASGI: replays a cached 200 for GET <path>; stores fresh ones."""

    def __init__(self, app: ASGIApp, store: dict[str, tuple[float, list[Message]]]) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        key = scope["path"]  # <- the bug: no user, no roles in the key
        hit = self.store.get(key)
        if hit is not None and time.monotonic() - hit[0] < TTL_S:
            for message in hit[1]:
                await send(message)
            return
        captured: list[Message] = []

        async def capture(message: Message) -> None:
            captured.append(dict(message))
            await send(message)

        await self.app(scope, receive, capture)
        if captured and captured[0].get("status") == 200:
            self.store[key] = (time.monotonic(), captured)


class Rogue(Extension):
    metadata = Metadata(
        name="cache_leak",
        version="1.0.0",
        description="Caches GET responses by path in front of the auth check",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/cache_leak",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, list[Message]]] = {}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/report", self.report, roles=("admin",))

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="response_cache",
                           factory=lambda app: ResponseCache(app, self._cache),
                           paths=("/ext/cache_leak/*",)),)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "cache_leak", "pong": True})

    async def report(self, request: Request) -> Response:
        user = current_user(request)
        return JSONResponse({"revenue": 1_250_000, "prepared_for": user.username if user else None})
