"""The host's own ASGI layers around every route: guard, auth gate, handler call.

Per route, from the outside in::

    RouteGuard        quotas (429/503), timeout (504), fault boundary (500), metrics
      middleware      the extensions' pure-ASGI middleware matching this route
        AuthGate      401/403 and the authorization hook
          HandlerApp  the extension's handler (sync ones in a bounded pool); what it
                      raises is blamed on the extension

All of it is assembled once, when the route table is built.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dufflebag_harness.inside.host._callables import is_async_callable
from dufflebag_harness.inside.host._context import request_fields
from dufflebag_harness.inside.host._faults import CORE, abort_response, blamed, error_response, tag
from dufflebag_harness.inside.host._hookplan import RouteHooks
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.sdk import HookContext, HookType, User
from dufflebag_harness.sdk._request import USER_STATE_KEY

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["AuthGate", "HandlerApp", "RouteGuard"]

log = logging.getLogger("dufflebag.host.faults")


def scope_user(scope: Scope) -> User | None:
    state = scope.get("state") or {}
    user = state.get(USER_STATE_KEY)
    return user if isinstance(user, User) else None


class HandlerApp:
    """Calls a route handler and sends its :class:`Response`; blames what escapes on ``owner``.

    It tags exceptions itself, as :class:`~dufflebag_harness.inside.host._faults.Blame` would around
    it, which spares every request one layer.
    """

    __slots__ = ("handler", "is_async", "limiter", "owner", "what")

    def __init__(
        self,
        handler: Callable[..., Any],
        limiter: anyio.CapacityLimiter | None,
        what: str,
        owner: str,
    ) -> None:
        self.handler = handler
        self.is_async = is_async_callable(handler)
        self.limiter = limiter
        self.what = what
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            request = Request(scope, receive, send)
            if self.is_async:
                response = await self.handler(request)
            else:
                response = await anyio.to_thread.run_sync(
                    self.handler, request, limiter=self.limiter, abandon_on_cancel=True
                )
                if inspect.isawaitable(response):
                    response = await response
            if not isinstance(response, Response):
                raise TypeError(
                    f"{self.what} returned {type(response).__name__}, not a starlette Response"
                )
            await response(scope, receive, send)
        except Exception as exc:
            tag(exc, self.owner)
            raise


class AuthGate:
    """Admits or refuses by token, roles and permission; fires ``authorization`` hooks.

    Hooks can only tighten the decision (set ``result["allowed"] = False`` or
    abort); they cannot admit a request the host refused.
    """

    __slots__ = ("app", "extension", "hooks", "permission", "roles", "state")

    def __init__(
        self,
        app: ASGIApp,
        state: HostState,
        hooks: RouteHooks,
        *,
        roles: tuple[str, ...],
        permission: str | None,
        extension: str | None,
    ) -> None:
        self.app = app
        self.state = state
        self.hooks = hooks
        self.roles = roles
        self.permission = permission
        self.extension = extension

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope_user(scope)
        status = self.state.authz.decide(
            user, auth=True, roles=self.roles, permission=self.permission
        )
        abort: tuple[int, Any] | None = None
        path: str = scope["path"]
        entries = self.hooks.select(HookType.AUTHORIZATION, path)
        if entries:
            ctx = HookContext(
                type=HookType.AUTHORIZATION,
                request=Request(scope, receive),
                user=user,
                payload={
                    "path": path,
                    "method": scope["method"],
                    "roles": list(self.roles),
                    "permission": self.permission,
                    "extension": self.extension,
                },
                result={"allowed": status is None, "status": status},
            )
            await self.state.hooks.fire(entries, ctx, path)
            if status is None and ctx.aborted is not None:
                abort = ctx.aborted
            elif status is None and ctx.result.get("allowed") is False:
                status = 403
        if abort is not None:
            code = abort[0] if isinstance(abort[0], int) and 400 <= abort[0] <= 599 else 403
            await abort_response(code, abort[1])(scope, receive, send)
        elif status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
            await error_response(401, "authentication required", headers)(scope, receive, send)
        elif status is not None:
            await error_response(403, "forbidden")(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class RouteGuard:
    """Outermost per-route layer: limits, timeout, fault boundary, metrics."""

    __slots__ = ("app", "hooks", "record", "state", "stats", "timeout_s")

    def __init__(
        self, app: ASGIApp, state: HostState, record: ExtensionRecord | None, hooks: RouteHooks
    ) -> None:
        self.app = app
        self.state = state
        self.record = record
        self.hooks = hooks
        default = state.options.request_timeout_s
        self.timeout_s = record.timeout_s(default) if record is not None else default
        self.stats = state.metrics.for_extension(record.name) if record is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record, stats = self.record, self.stats
        if record is None or stats is None:
            await self._run(scope, receive, send, None)
            return
        name = record.name
        if record.bucket is not None and not record.bucket.take():
            stats.reject("rate_limit")
            reply = error_response(
                429, "rate limit exceeded", {"Retry-After": "1"}, extension=name
            )
            await reply(scope, receive, send)
            return
        limit = record.quotas.concurrent_requests
        if limit and stats.in_flight >= limit:
            stats.reject("concurrency")
            reply = error_response(503, "too many concurrent requests", extension=name)
            await reply(scope, receive, send)
            return
        stats.enter()
        started = time.perf_counter()
        status = 500
        try:
            status = await self._run(scope, receive, send, name)
        finally:
            stats.leave(time.perf_counter() - started, status)

    async def _run(self, scope: Scope, receive: Receive, send: Send, name: str | None) -> int:
        sent: dict[str, int] = {}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            await send(message)

        watch = self.state.deadlines.watch()
        deadline = watch.open(self.timeout_s)
        try:
            try:
                with deadline:
                    await self.app(scope, receive, tracking_send)
            finally:
                watch.close(deadline)
        except Exception as exc:
            return await self._failed(scope, receive, send, sent, exc)
        if deadline.cancelled_caught:
            culprit = name or "core"
            log.error(
                "request to %s %s exceeded %ss (%s)",
                scope["method"],
                scope["path"],
                self.timeout_s,
                culprit,
                extra={"extension": name, **request_fields()},
            )
            if name is not None:
                self.state.metrics.reject(name, "timeout")
                self.state.record_failure(name, f"timed out after {self.timeout_s}s")
            if "status" not in sent:
                fields: dict[str, Any] = {"extension": name} if name else {}
                await error_response(504, "request timed out", **fields)(scope, receive, send)
            return 504
        return sent.get("status", 500)

    async def _failed(
        self, scope: Scope, receive: Receive, send: Send, sent: dict[str, int], exc: Exception
    ) -> int:
        culprit = blamed(exc)
        if culprit is None or culprit == CORE:
            log.error(
                "host error on %s %s",
                scope["method"],
                scope["path"],
                exc_info=exc,
                extra=request_fields(),
            )
            body: dict[str, Any] = {"error": "internal error"}
        else:
            log.error(
                "extension %r raised %s on %s %s: %s",
                culprit,
                type(exc).__name__,
                scope["method"],
                scope["path"],
                exc,
                exc_info=exc,
                extra={"extension": culprit, **request_fields()},
            )
            body = {"error": "extension error", "extension": culprit}
        if "status" not in sent:
            await error_response(500, **body)(scope, receive, send)
        if culprit:
            self.state.record_failure(culprit, f"raised {type(exc).__name__}: {exc}")
        path: str = scope["path"]
        entries = self.hooks.select(HookType.ERROR, path)
        if entries:
            ctx = HookContext(
                type=HookType.ERROR,
                request=Request(scope, receive),
                user=scope_user(scope),
                error=exc,
                status=500,
                data={"extension": culprit or None},
            )
            await self.state.hooks.fire(entries, ctx, path)
        return 500
