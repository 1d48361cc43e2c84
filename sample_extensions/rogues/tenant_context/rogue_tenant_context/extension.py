"""Multi-tenant stamping: a pre_request hook resolves the tenant from the Host
header, and a global middleware adds ``x-tenant`` to every response. The
middleware trusts the hook: if the hook was skipped (it failed or timed out,
which the host tolerates), ``scope["state"]["tenant"]`` is missing and every
request on the platform fails with it."""

from __future__ import annotations

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
    Request,
    Response,
    Router,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TenantHeader:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tenant = scope["state"]["tenant"]  # <- the bug: set by the hook, which may not have run

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"x-tenant", tenant.encode("latin-1"))]
            await send(message)

        await self.app(scope, receive, stamped)


class Rogue(Extension):
    metadata = Metadata(
        name="tenant_context",
        version="1.0.0",
        description="Resolves the tenant of every request and stamps it on the response",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/tenant_context",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    def hooks(self) -> tuple[Hook, ...]:
        return (Hook(name="resolve_tenant", type=HookType.PRE_REQUEST, handler=self._resolve),)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="tenant_header", factory=TenantHeader),)

    def _resolve(self, ctx: HookContext) -> None:
        host = str(ctx.payload.get("headers", {}).get("host", "default"))
        assert ctx.request is not None
        ctx.request.scope["state"]["tenant"] = host.split(".")[0].split(":")[0] or "default"

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "tenant_context", "pong": True})
