"""The host's ASGI application: request checks, authentication, request hooks, dispatch.

One stable object (``Host.app``) whose behaviour follows the current route
table. Per request it: refuses escaping paths (400), resolves the bearer token
(``authentication`` hook), runs ``pre_request`` hooks (which may edit request
headers or abort), dispatches to the compiled route, and fires
``pre_response``/``post_response``/``post_request`` around the answer. The
route is matched first, so each request fires only the hooks its route's plan
holds (:mod:`dufflebag_harness.inside.host._hookplan`), and a hook context is only built when
some hook of that type can apply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from dufflebag_harness.inside.host._auth import bearer_token
from dufflebag_harness.inside.host._context import CURRENT_REQUEST, RequestInfo, next_request_number
from dufflebag_harness.inside.host._faults import abort_response, error_response
from dufflebag_harness.inside.host._hookplan import RouteHooks
from dufflebag_harness.inside.host._hooks import HookEntry
from dufflebag_harness.inside.host._paths import check_request_path
from dufflebag_harness.inside.host._table import ALLOW_KEY, RouteTable
from dufflebag_harness.sdk import HookContext, HookType, User
from dufflebag_harness.sdk._request import USER_STATE_KEY

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["HostApp"]

log = logging.getLogger("dufflebag.host")

EXTENSION_KEY = "dufflebag.extension"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _decode_headers(raw: Any) -> dict[str, str]:
    return {bytes(k).decode("latin-1").lower(): bytes(v).decode("latin-1") for k, v in raw}


def _reencode(
    raw: list[tuple[bytes, bytes]], before: Mapping[str, str], after: Mapping[str, str]
) -> list[tuple[bytes, bytes]]:
    """Headers after hooks edited their dict view; untouched duplicates are kept."""
    wanted = {str(k).lower(): str(v) for k, v in after.items()}
    kept = [
        (k, v)
        for k, v in raw
        if (name := bytes(k).decode("latin-1").lower()) in wanted
        and wanted[name] == before.get(name)
    ]
    kept_names = {bytes(k).decode("latin-1").lower() for k, _ in kept}
    for name, value in wanted.items():
        if name not in kept_names:
            kept.append((name.encode("latin-1"), value.encode("latin-1")))
    return kept


def _valid_status(value: object, fallback: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
        return value
    log.error("hook set an invalid HTTP status %r; kept %s", value, fallback)
    return fallback


class _Exchange:
    """What one request's layers learn about it: its route's hooks, the status sent."""

    __slots__ = ("hooks", "sent", "status")

    def __init__(self, hooks: RouteHooks) -> None:
        self.hooks = hooks
        self.status: int | None = None
        self.sent = False


class HostApp:
    """ASGI entry point of a host."""

    def __init__(self, state: HostState) -> None:
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1003})
            return
        scope = dict(scope)
        scope["state"] = dict(scope.get("state") or {})
        info = RequestInfo(scope["method"], scope["path"], next_request_number())
        reset = CURRENT_REQUEST.set(info)
        started = time.perf_counter()
        table = self._state.table
        exchange = _Exchange(table.hooks)
        try:
            await self._handle(scope, receive, send, table, exchange)
        except Exception:  # last resort: never let an exception reach the server
            log.exception("unhandled host error on %s %s", info.method, info.path)
            if not exchange.sent:
                await error_response(500, "internal error")(scope, receive, send)
        finally:
            try:
                entries = exchange.hooks.select(HookType.POST_REQUEST, scope["path"])
                if entries:
                    await self._post_request(scope, receive, exchange, started, entries)
            finally:
                CURRENT_REQUEST.reset(reset)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, table: RouteTable, exchange: _Exchange
    ) -> None:
        state = self._state
        path: str = scope["path"]
        problem = check_request_path(path, scope.get("raw_path"))
        if problem is not None:
            await error_response(400, "invalid path", detail=problem)(scope, receive, send)
            exchange.sent, exchange.status = True, 400
            return

        # Routing looks at the path taken above and the method, which only a hook rewriting
        # the scope in place could change (matched again below). So the route, and with it
        # the hooks that can apply to this path, is known before any hook runs.
        method: str = scope["method"]
        route, params, allowed = table.match(path, method)
        hooks = exchange.hooks = route.hooks if route is not None else table.hooks

        header = _header(scope, b"authorization")
        user = state.authz.user_for(bearer_token(header))
        scope["state"][USER_STATE_KEY] = user
        if header is not None:
            entries = hooks.select(HookType.AUTHENTICATION, path)
            if entries:
                ctx = HookContext(
                    type=HookType.AUTHENTICATION,
                    request=Request(scope, receive),
                    user=user,
                    payload={"scheme": "bearer", "resolved": user is not None},
                )
                await state.hooks.fire(entries, ctx, path)

        hooked_send = self._response_hooks(scope, receive, send, user, exchange, scope["path"])
        entries = hooks.select(HookType.PRE_REQUEST, path)
        if entries:
            ctx = HookContext(
                type=HookType.PRE_REQUEST,
                request=Request(scope, receive),
                user=user,
                payload={
                    "method": scope["method"],
                    "path": path,
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "headers": _decode_headers(scope.get("headers", ())),
                },
            )
            before = dict(ctx.payload["headers"])
            await state.hooks.fire(entries, ctx, path)
            if ctx.aborted is not None:
                code = _valid_status(ctx.aborted[0], 400)
                await abort_response(code, ctx.aborted[1])(scope, receive, hooked_send)
                return
            edited = ctx.payload.get("headers")
            if isinstance(edited, Mapping) and edited != before:
                scope["headers"] = _reencode(list(scope.get("headers", ())), before, edited)

        if scope["method"] != method:  # a hook rewrote the request's scope in place
            route, params, allowed = table.match(path, scope["method"])
        if route is None:
            scope[ALLOW_KEY] = allowed
            await table.fallback(scope, receive, hooked_send)
            return
        scope["path_params"] = params
        scope[EXTENSION_KEY] = route.extension
        await route.app(scope, receive, hooked_send)

    def _response_hooks(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        user: User | None,
        exchange: _Exchange,
        path: str,
    ) -> Send:
        fire = self._state.hooks.fire
        hooks = exchange.hooks

        async def hooked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                entries = hooks.select(HookType.PRE_RESPONSE, path)
                if entries:
                    raw = list(message.get("headers", ()))
                    before = _decode_headers(raw)
                    ctx = HookContext(
                        type=HookType.PRE_RESPONSE,
                        request=Request(scope, receive),
                        user=user,
                        status=message["status"],
                        response_headers=dict(before),
                    )
                    await fire(entries, ctx, path)
                    message = {
                        **message,
                        "status": _valid_status(ctx.status, message["status"]),
                        "headers": _reencode(raw, before, ctx.response_headers),
                    }
                exchange.status = message["status"]
                exchange.sent = True
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                entries = hooks.select(HookType.POST_RESPONSE, path)
                if entries:
                    ctx = HookContext(
                        type=HookType.POST_RESPONSE,
                        request=Request(scope, receive),
                        user=user,
                        status=exchange.status,
                    )
                    await fire(entries, ctx, path)

        return hooked_send

    async def _post_request(
        self,
        scope: Scope,
        receive: Receive,
        exchange: _Exchange,
        started: float,
        entries: tuple[HookEntry, ...],
    ) -> None:
        ctx = HookContext(
            type=HookType.POST_REQUEST,
            request=Request(scope, receive),
            user=scope["state"].get(USER_STATE_KEY),
            status=exchange.status,
            result={
                "status": exchange.status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "extension": scope.get(EXTENSION_KEY),
            },
        )
        await self._state.hooks.fire(entries, ctx, scope["path"])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Acknowledge lifespan events; the owner calls ``Host.start``/``stop`` itself."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

