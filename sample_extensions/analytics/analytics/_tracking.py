"""The page-view middleware: pure ASGI, so it adds microseconds, not a task per request.

It watches ``http.response.start`` for the status, times the request until the
application returns, and hands a :class:`PageView` to the recorder. Requests
the configuration excludes, or that sampling skips, cost one prefix test and
one random draw. An exception from the application is recorded as a 500 and
re-raised untouched: the host, not this middleware, answers it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from analytics._config import Settings
from analytics._store import PageView
from dufflebag_harness.sdk import Request, current_user

__all__ = ["ASGIApp", "TrackingMiddleware"]

# ASGI shapes, spelled out with the standard library (extensions import nothing else).
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TrackingMiddleware:
    """Records method, path, status, duration and user of each request it wraps.

    ``settings`` and ``submit`` are callables so a hot configuration reload and
    a restarted recorder take effect without rebuilding the middleware chain.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Callable[[], Settings],
        submit: Callable[[PageView], bool],
        rng: random.Random | None = None,
    ) -> None:
        self.app = app
        self._settings = settings
        self._submit = submit
        self._rng = rng or random.Random()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._wanted(scope["path"]):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            user = current_user(Request(scope))
            self._submit(
                PageView(
                    ts=time.time(),
                    method=str(scope["method"]),
                    path=str(scope["path"]),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 3),
                    user_id=user.id if user else None,
                )
            )

    def _wanted(self, path: str) -> bool:
        settings = self._settings()
        if settings.excludes(path):
            return False
        rate = settings.sample_rate
        return rate >= 1.0 or (rate > 0.0 and self._rng.random() < rate)
