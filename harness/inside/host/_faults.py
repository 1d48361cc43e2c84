"""Fault isolation primitives: blame, failure windows, rate buckets, error replies.

Blame works by tagging an exception with the extension whose code it escaped
from. Every extension-supplied layer (handler, middleware) is wrapped in
:class:`Blame`; the innermost wrapper tags first and outer ones leave the tag
alone, so an error raised by a handler is not pinned on the middleware that
merely let it pass.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "CORE",
    "Blame",
    "FailureWindow",
    "TokenBucket",
    "abort_response",
    "blamed",
    "error_response",
    "json_body",
    "tag",
]

#: Blame for the host's own code.
CORE = ""
_ATTR = "__dufflebag_extension__"


def tag(exc: BaseException, extension: str) -> None:
    """Attribute ``exc`` to ``extension`` unless an inner layer already did."""
    if not hasattr(exc, _ATTR):
        with contextlib.suppress(AttributeError, TypeError):  # types without __dict__
            setattr(exc, _ATTR, extension)


def blamed(exc: BaseException) -> str | None:
    """The extension ``exc`` escaped from, :data:`CORE` for the host, ``None`` if unknown."""
    value = getattr(exc, _ATTR, None)
    return value if isinstance(value, str) else None


class Blame:
    """ASGI wrapper that tags exceptions escaping ``app`` with ``extension``."""

    __slots__ = ("app", "extension")

    def __init__(self, app: ASGIApp, extension: str) -> None:
        self.app = app
        self.extension = extension

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            tag(exc, self.extension)
            raise


class FailureWindow:
    """Counts failures in a sliding time window; says when the threshold is reached."""

    def __init__(self, threshold: int, window_s: float) -> None:
        self._threshold = threshold
        self._window_s = window_s
        self._times: deque[float] = deque()
        self.total = 0

    def record(self, now: float | None = None) -> bool:
        """Count one failure; ``True`` once ``threshold`` fell within the window."""
        now = time.monotonic() if now is None else now
        self.total += 1
        self._times.append(now)
        while self._times and now - self._times[0] > self._window_s:
            self._times.popleft()
        return self._threshold > 0 and len(self._times) >= self._threshold

    @property
    def recent(self) -> int:
        return len(self._times)

    def reset(self) -> None:
        self._times.clear()


class TokenBucket:
    """Classic token bucket: ``rate`` tokens per second, burst of ``max(1, rate)``."""

    __slots__ = ("_capacity", "_last", "_rate", "_tokens")

    def __init__(self, rate: float) -> None:
        self._rate = float(rate)
        self._capacity = max(1.0, self._rate)
        self._tokens = self._capacity
        self._last = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def error_response(
    status: int, error: str, headers: dict[str, str] | None = None, **fields: Any
) -> JSONResponse:
    """The host's uniform JSON error body: ``{"error": ..., **fields}``."""
    return JSONResponse({"error": error, **fields}, status_code=status, headers=headers)


def json_body(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """``body`` as JSON; values JSON cannot encode (hook edits) become strings."""
    return Response(
        json.dumps(body, default=str),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def abort_response(status: int, body: Any) -> Response:
    """The answer to ``HookContext.abort(status, body)``."""
    return json_body(status, {"error": "refused by hook"} if body is None else body)
