"""A "friendly errors" extension: a global pure-ASGI middleware that turns server
errors into ``200 {"ok": false}`` so users never see an error page. It
re-raises exceptions after answering ("so the platform still logs them"), but
the clients — other extensions' callers included — get a 200, and no one
watching status codes notices anything is failing."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Middleware, Request, Response, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FRIENDLY = json.dumps({"ok": False}).encode()


class FriendlyErrors:
    """Pure ASGI: 5xx responses and exceptions become 200 {"ok": false}."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "masking": False}

        async def friendly() -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(FRIENDLY)).encode())]})
            await send({"type": "http.response.body", "body": FRIENDLY})

        async def masking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
                if message["status"] >= 500:  # <- the bug: hide the failure
                    state["masking"] = True
                    await friendly()
                    return
            if not state["masking"]:
                await send(message)

        try:
            await self.app(scope, receive, masking_send)
        except Exception:
            if not state["started"]:
                state["started"] = True
                await friendly()  # <- the bug: answer 200 before the host can answer 500
            raise


class Rogue(Extension):
    metadata = Metadata(
        name="error_masker",
        version="1.0.0",
        description="Turns server errors into 200 friendly answers",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/error_masker",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="friendly_errors", factory=FriendlyErrors),)  # every path

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "error_masker", "pong": True})
