"""Webhook intake: accept events immediately, process them "in the background".

A middleware answers every POST under the prefix with ``202 Accepted`` as soon
as the body has arrived, and hands the request to the rest of the chain in an
``asyncio`` task. The host's guard sees a request that finished in a
millisecond; the actual work is invisible to its concurrency limit and its
timeout.
"""

from __future__ import annotations

import asyncio
import json
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
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class AcceptNow:
    """Pure ASGI: 202 for POSTs, the real work continues in a task."""

    def __init__(self, app: ASGIApp, tasks: set[asyncio.Task[None]]) -> None:
        self.app = app
        self.tasks = tasks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def discard(message: Message) -> None:
            return None

        task = asyncio.ensure_future(self.app(dict(scope), replay, discard))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        payload = json.dumps({"accepted": True}).encode()
        await send({"type": "http.response.start", "status": 202,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


class Rogue(Extension):
    metadata = Metadata(
        name="offload",
        version="1.0.0",
        description="Accepts webhook events at once and processes them in the background",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/offload",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._tasks.clear()

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/events", self.event, auth=True)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="accept_now", factory=lambda app: AcceptNow(app, self._tasks),
                           paths=("/ext/offload/*",)),)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "offload", "pong": True})

    async def event(self, request: Request) -> Response:
        self.processed += 1
        return JSONResponse({"processed": self.processed})
