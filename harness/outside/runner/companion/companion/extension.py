"""The extension class: every route, header and hook names the extension.

Checks load several numbered copies of this extension in one host and expect
each copy's answers to name that copy only, so any answer that crossed from
one extension to another would be visible.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Middleware,
    Migration,
    Request,
    Response,
    Router,
    current_user,
)

NAME = "companion"
PREFIX = f"/ext/{NAME}"
HEADER = f"x-{NAME}".encode("latin-1")

__all__ = ["NAME", "SmallExtension"]

# ASGI shapes, spelled out with the standard library (extensions import nothing else).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _HeaderMiddleware:
    """Pure ASGI: stamps ``x-<name>: 1`` on every response of this extension's routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (HEADER, b"1")]
            await send(message)

        await self.app(scope, receive, send_with_header)


class SmallExtension(Extension):
    """Ping, items in its own table, a header and request hooks on its own paths."""

    metadata = Metadata(
        name=NAME,
        version="1.0.0",
        description="Ping and item storage; a neighbour for isolation and concurrency checks",
        author="DuffleBagBase",
        license="MIT",
        homepage=f"https://example.org/dufflebag/{NAME}",
        host_api=">=1.0,<2",
        tags=("sample",),
    )
    migrations = (
        Migration(
            version=1,
            description="items table",
            # Ids are made by the extension (uuid4 hex): portable across SQLite and
            # PostgreSQL and free of read-then-insert races.
            up="CREATE TABLE items (id VARCHAR(32) PRIMARY KEY, value TEXT NOT NULL)",
            down="DROP TABLE items",
        ),
    )

    def __init__(self) -> None:
        self.seen: dict[str, int] = {"pre_request": 0, "post_request": 0}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping, name="ping")
        router.post("/items", self.create_item, auth=True, name="create_item")
        router.get("/items/{item_id}", self.read_item, auth=True, name="read_item")

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name=f"{NAME}_header", factory=_HeaderMiddleware,
                           paths=(f"{PREFIX}/*",)),)

    def hooks(self) -> tuple[Hook, ...]:
        paths = (f"{PREFIX}/*",)
        return (
            Hook(name=f"{NAME}_pre", type=HookType.PRE_REQUEST, handler=self._count, paths=paths),
            Hook(name=f"{NAME}_post", type=HookType.POST_REQUEST, handler=self._count, paths=paths),
        )

    def _count(self, ctx: HookContext) -> None:
        self.seen[ctx.type.value] += 1

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": NAME, "pong": True})

    async def create_item(self, request: Request) -> Response:
        try:
            body: Any = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "value" not in body:
            return JSONResponse({"error": 'expected a JSON object {"value": ...}'}, 422)
        item_id = uuid.uuid4().hex
        await self.services.database.execute(
            "INSERT INTO items (id, value) VALUES (:id, :value)",
            {"id": item_id, "value": json.dumps(body["value"])},
        )
        user = current_user(request)
        return JSONResponse({"extension": NAME, "id": item_id,
                             "user_id": user.id if user else None}, 201)

    async def read_item(self, request: Request) -> Response:
        item_id = request.path_params["item_id"]
        rows = await self.services.database.fetch_all(
            "SELECT id, value FROM items WHERE id = :id", {"id": item_id})
        if not rows:
            return JSONResponse({"error": "no such item", "extension": NAME, "id": item_id}, 404)
        return JSONResponse({"extension": NAME, "id": rows[0]["id"],
                             "value": json.loads(rows[0]["value"])})
