"""The host's ASGI application: request checks, authentication, request hooks, dispatch.

One stable object (``Host.app``) whose behaviour follows the current route
table. Per request it: refuses escaping paths (400), resolves the bearer token
(``authentication`` hook), runs ``pre_request`` hooks (which may edit request
headers or abort), dispatches to the compiled route, and fires
``pre_response``/``post_response``/``post_request`` around the answer. Hook
contexts are only built when some hook of that type is registered.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from harness.host._auth import bearer_token
from harness.host._context import CURRENT_REQUEST, RequestInfo
from harness.host._faults import abort_response, error_response
from harness.host._paths import check_request_path
from harness.host._table import ALLOW_KEY
from harness.sdk import HookContext, HookType, User
from harness.sdk._request import USER_STATE_KEY

if TYPE_CHECKING:
    from harness.host._state import HostState

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
        info = RequestInfo(uuid.uuid4().hex[:16], scope["method"], scope["path"])
        reset = CURRENT_REQUEST.set(info)
        started = time.perf_counter()
        status: dict[str, int] = {}
        try:
            await self._handle(scope, receive, send, status)
        except Exception:  # last resort: never let an exception reach the server
            log.exception("unhandled host error on %s %s", info.method, info.path)
            if "sent" not in status:
                await error_response(500, "internal error")(scope, receive, send)
        finally:
            try:
                await self._post_request(scope, receive, status, started)
            finally:
                CURRENT_REQUEST.reset(reset)

    async def _handle(
        self, scope: Scope, receive: Receive, send: Send, status: dict[str, int]
    ) -> None:
        state = self._state
        table = state.table
        path: str = scope["path"]
        problem = check_request_path(path, scope.get("raw_path"))
        if problem is not None:
            await error_response(400, "invalid path", detail=problem)(scope, receive, send)
            status["sent"] = status["status"] = 400
            return

        header = _header(scope, b"authorization")
        user = state.authz.user_for(bearer_token(header))
        scope["state"][USER_STATE_KEY] = user
        if header is not None and table.hooks[HookType.AUTHENTICATION]:
            ctx = HookContext(
                type=HookType.AUTHENTICATION,
                request=Request(scope, receive),
                user=user,
                payload={"scheme": "bearer", "resolved": user is not None},
            )
            await state.fire(HookType.AUTHENTICATION, ctx, path)

        hooked_send = self._response_hooks(scope, receive, send, user, status)
        if table.hooks[HookType.PRE_REQUEST]:
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
            await state.fire(HookType.PRE_REQUEST, ctx, path)
            if ctx.aborted is not None:
                code = _valid_status(ctx.aborted[0], 400)
                await abort_response(code, ctx.aborted[1])(scope, receive, hooked_send)
                return
            edited = ctx.payload.get("headers")
            if isinstance(edited, Mapping) and edited != before:
                scope["headers"] = _reencode(list(scope.get("headers", ())), before, edited)

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
        status: dict[str, int],
    ) -> Send:
        state = self._state
        path: str = scope["path"]

        async def hooked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                if state.table.hooks[HookType.PRE_RESPONSE]:
                    raw = list(message.get("headers", ()))
                    before = _decode_headers(raw)
                    ctx = HookContext(
                        type=HookType.PRE_RESPONSE,
                        request=Request(scope, receive),
                        user=user,
                        status=message["status"],
                        response_headers=dict(before),
                    )
                    await state.fire(HookType.PRE_RESPONSE, ctx, path)
                    message = {
                        **message,
                        "status": _valid_status(ctx.status, message["status"]),
                        "headers": _reencode(raw, before, ctx.response_headers),
                    }
                status["status"] = message["status"]
                status["sent"] = 1
            await send(message)
            if (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and state.table.hooks[HookType.POST_RESPONSE]
            ):
                ctx = HookContext(
                    type=HookType.POST_RESPONSE,
                    request=Request(scope, receive),
                    user=user,
                    status=status.get("status"),
                )
                await state.fire(HookType.POST_RESPONSE, ctx, path)

        return hooked_send

    async def _post_request(
        self, scope: Scope, receive: Receive, status: dict[str, int], started: float
    ) -> None:
        state = self._state
        if not state.table.hooks[HookType.POST_REQUEST]:
            return
        ctx = HookContext(
            type=HookType.POST_REQUEST,
            request=Request(scope, receive),
            user=scope["state"].get(USER_STATE_KEY),
            status=status.get("status"),
            result={
                "status": status.get("status"),
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "extension": scope.get(EXTENSION_KEY),
            },
        )
        await state.fire(HookType.POST_REQUEST, ctx, scope["path"])

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Acknowledge lifespan events; the owner calls ``Host.start``/``stop`` itself."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

