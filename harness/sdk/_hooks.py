"""Hooks around the host's core handlers, and middleware registrations.

Ordering rule (host-wide, documented in ARCHITECTURE.md): a lower ``priority``
runs first; ties are broken by extension name, then registration order.
Middleware with a lower priority is the *outer* layer.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp

if TYPE_CHECKING:
    from starlette.requests import Request

    from dufflebag_harness.sdk._services import User


class HookType(enum.StrEnum):
    """Points in the reference host where hooks fire (each has a real trigger)."""

    PRE_REQUEST = "pre_request"  # every request, before routing; may abort
    POST_REQUEST = "post_request"  # after the response was sent (status known)
    PRE_RESPONSE = "pre_response"  # before headers go out; may change status/headers
    POST_RESPONSE = "post_response"  # after the body went out
    ERROR = "error"  # a handler raised
    AUTHENTICATION = "authentication"  # a bearer token was resolved (user or None)
    AUTHORIZATION = "authorization"  # a role/permission decision was made
    PRE_AUTH = "pre_auth"  # core login: before credentials are checked; may edit payload
    POST_AUTH = "post_auth"  # core login: after the check; may edit result
    PRE_DATABASE = "pre_database"  # core user store write: before; may edit payload
    POST_DATABASE = "post_database"  # core user store write: after; may edit result
    BEFORE_UPLOAD = "before_upload"  # core storage upload: before; may edit payload
    AFTER_UPLOAD = "after_upload"
    BEFORE_DOWNLOAD = "before_download"
    AFTER_DOWNLOAD = "after_download"  # may edit result (e.g. headers)
    POST_LOGIN = "post_login"
    POST_SIGNUP = "post_signup"


@dataclass
class HookContext:
    """What a hook sees: the same request, user and services as the handler.

    ``payload`` is the core handler's input (pre hooks may change it), ``result``
    its output before serialization (post hooks may change it). ``status`` and
    ``response_headers`` are writable in ``PRE_RESPONSE``. ``abort(status, body)``
    in a pre hook stops the request with that response.
    """

    type: HookType
    request: Request | None
    user: User | None = None
    payload: MutableMapping[str, Any] = field(default_factory=dict)
    result: MutableMapping[str, Any] = field(default_factory=dict)
    status: int | None = None
    response_headers: MutableMapping[str, str] = field(default_factory=dict)
    error: BaseException | None = None
    data: MutableMapping[str, Any] = field(default_factory=dict)
    aborted: tuple[int, Any] | None = None

    def abort(self, status: int, body: Any = None) -> None:
        """Stop the request (pre hooks only) with ``status`` and a JSON ``body``."""
        self.aborted = (status, body)


HookHandler = Callable[[HookContext], Awaitable[None] | None]


@dataclass(frozen=True)
class Hook:
    """A hook registration. ``paths`` limits it to request paths (``None``: all).

    Path patterns: an exact path, or a prefix ending in ``*`` (``"/api/*"``).
    """

    name: str
    type: HookType
    handler: HookHandler
    priority: int = 100
    paths: tuple[str, ...] | None = None


MiddlewareFactory = Callable[[ASGIApp], ASGIApp]


@dataclass(frozen=True)
class Middleware:
    """A pure-ASGI middleware: ``factory(app) -> app``, applied on ``paths``.

    The host resolves, once per route, which middleware apply to it, so a
    middleware that does not match a path costs nothing on requests to it.
    """

    name: str
    factory: MiddlewareFactory
    priority: int = 100
    paths: tuple[str, ...] | None = None
