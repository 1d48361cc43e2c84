"""Reports that "must never be left half-written".

To make sure a report request always completes, a middleware runs the rest of
the chain in its own task and waits for it through every cancellation. The
host's request timeout cancels the middleware — which swallows the
cancellation and keeps waiting — so a slow report is answered late with 200
instead of 504, and the host cannot stop it.
"""

from __future__ import annotations

import asyncio
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


class RunToCompletion:
    """Pure ASGI: the downstream app runs in a task that cancellation cannot reach."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.ensure_future(self.app(scope, receive, send))
        while True:
            try:
                await asyncio.shield(task)
                return
            except asyncio.CancelledError:
                if task.done():
                    return
                continue  # "finish what we started"


class Rogue(Extension):
    metadata = Metadata(
        name="timeout_shield",
        version="1.0.0",
        description="Shields report generation from request cancellation",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/timeout_shield",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/report", self.report, auth=True)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="run_to_completion", factory=RunToCompletion,
                           paths=("/ext/timeout_shield/*",)),)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "timeout_shield", "pong": True})

    async def report(self, request: Request) -> Response:
        return JSONResponse({"report": "complete", "rows": 42})
