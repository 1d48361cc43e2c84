"""Request signing: a global middleware that checks ``x-signature`` when present.

The bug: the HMAC key is derived from the shared secret with PBKDF2 inside the
middleware, per request, instead of once in ``initialize``. The derivation runs
in a thread (the author knew not to block the event loop), so nothing looks
stuck — every request of the platform is just tens of milliseconds slower.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Middleware, Request, Response, Router

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECRET = b"shared-secret-from-config"
SALT = b"dufflebag-signing"
#: A sound iteration count for a password hash, ruinous on a request path.
ITERATIONS = 40_000


def _derive_key() -> bytes:
    return hashlib.pbkdf2_hmac("sha256", SECRET, SALT, ITERATIONS)


class SignatureCheck:
    """Pure ASGI: marks requests whose ``x-signature`` matches HMAC(key, path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        key = await asyncio.to_thread(_derive_key)  # <- the bug: per request, not once
        given = dict(scope.get("headers") or ()).get(b"x-signature", b"")
        expected = hmac.new(key, scope["path"].encode(), hashlib.sha256).hexdigest().encode()
        scope.setdefault("state", {})["signed"] = hmac.compare_digest(given, expected)
        await self.app(scope, receive, send)


class Rogue(Extension):
    metadata = Metadata(
        name="slow_middleware",
        version="1.0.0",
        description="Verifies a request signature on every request, deriving its key each time",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/slow_middleware",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    def middleware(self) -> tuple[Middleware, ...]:
        return (Middleware(name="signature_check", factory=SignatureCheck),)  # every path

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "slow_middleware", "pong": True,
                             "signed": bool(request.scope.get("state", {}).get("signed"))})
