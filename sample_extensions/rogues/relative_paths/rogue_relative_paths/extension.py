"""Settings pages with a same-origin guard against cross-site form posts. The
guard is registered for ``/admin/*`` — relative, as route paths are — but
middleware paths are full request paths: it matches nothing and the
settings form is never guarded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Middleware, Request, Response, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SameOrigin:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        origin, host = headers.get(b"origin"), headers.get(b"host", b"")
        if scope["type"] == "http" and scope["method"] == "POST" and origin is not None \
                and not origin.endswith(b"//" + host):
            await send({"type": "http.response.start", "status": 403, "headers": []})
            await send({"type": "http.response.body", "body": b"cross-origin refused"})
            return
        await self.app(scope, receive, send)


class Rogue(Extension):
    metadata = Metadata(
        name="relative_paths",
        version="1.0.0",
        description="Settings pages guarded by a same-origin check",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/relative_paths",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._settings: dict[str, Any] = {"theme": "light"}

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/admin/settings", self.read_settings, roles=("admin",))
        router.post("/admin/settings", self.save_settings, roles=("admin",))

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="same_origin", factory=SameOrigin,
                           paths=("/admin/*",)),)  # <- the bug: not a full request path

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "relative_paths", "pong": True})

    async def read_settings(self, request: Request) -> Response:
        return JSONResponse(self._settings)

    async def save_settings(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        if isinstance(body, dict):
            self._settings.update({k: v for k, v in body.items() if k == "theme"})
        return JSONResponse(self._settings)
