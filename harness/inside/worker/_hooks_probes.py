"""Hook and middleware probe: which of the extension's registrations ran, in what order,
and what each hook changed.

``hooks.trace`` builds a host with the extension (and the companions the
parent names), wraps every middleware, hook and route handler of the
extension with a recorder — behaviour unchanged — and sends a fixed set of
requests in-process: each of its routes, a few core routes, a 404, each
companion's ping. For each request it reports the matched route template,
the final status and headers, and the events in order: a middleware entered,
a middleware forwarding to what it wraps, a hook fired (with the changes it
made to status, response headers or request headers), a handler reached
(with the request headers it saw). The parent compares this with what the
extension declared.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from dufflebag_harness.inside.worker._faults import swap_handlers
from dufflebag_harness.inside.worker._probe_hosts import PROBE_TOKEN, running_host, seed_users

if TYPE_CHECKING:
    from dufflebag_harness.inside.host import Host
    from dufflebag_harness.inside.worker._server import WorkerServer
    from dufflebag_harness.sdk import Extension, Hook, HookContext, Middleware

__all__ = ["PROBES"]

Events = list[dict[str, Any]]
#: Most events kept per request (a middleware calling itself in a loop stays bounded).
MAX_EVENTS = 200
_PARAM = re.compile(r"\{[^}]+\}")


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else repr(value)


def _view(ctx: HookContext) -> dict[str, Any]:
    headers = ctx.payload.get("headers") if ctx.type.value == "pre_request" else None
    return {
        "status": _plain(ctx.status),
        "response_headers": {str(k).lower(): _plain(v) for k, v in ctx.response_headers.items()},
        "request_headers": ({str(k).lower(): _plain(v) for k, v in headers.items()}
                            if isinstance(headers, Mapping) else {}),
        "aborted": _plain(ctx.aborted[0]) if ctx.aborted else None,
    }


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if before["status"] != after["status"]:
        out["status"] = after["status"]
    if before["aborted"] != after["aborted"]:
        out["aborted"] = after["aborted"]
    for key in ("response_headers", "request_headers"):
        old, new = before[key], after[key]
        changed = {k: v for k, v in new.items() if old.get(k) != v}
        removed = sorted(k for k in old if k not in new)
        if changed or removed:
            out[key] = {"set": changed, "removed": removed}
    return out


class _Recorder:
    """Appends events for the request in flight (requests run one at a time)."""

    def __init__(self) -> None:
        self.events: Events = []

    def add(self, event: dict[str, Any]) -> dict[str, Any]:
        if len(self.events) < MAX_EVENTS:
            self.events.append(event)
        return event


def _traced_middleware(mw: Middleware, index: int, rec: _Recorder) -> Middleware:
    def factory(app: Any) -> Any:
        async def forward(scope: Any, receive: Any, send: Any) -> None:
            rec.add({"kind": "forward", "index": index})
            await app(scope, receive, send)

        wrapped = mw.factory(forward)

        async def enter(scope: Any, receive: Any, send: Any) -> None:
            rec.add({"kind": "middleware", "index": index})
            await wrapped(scope, receive, send)

        return enter

    return dataclasses.replace(mw, factory=factory)


def _traced_hook(hook: Hook, index: int, rec: _Recorder) -> Hook:
    async def handler(ctx: HookContext) -> None:
        event = rec.add({"kind": "hook", "index": index, "type": ctx.type.value})
        before = _view(ctx)
        try:
            result = hook.handler(ctx)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            event["error"] = f"{type(exc).__name__}: {exc}"[:300]
            raise
        finally:
            event["changes"] = _changes(before, _view(ctx))

    return dataclasses.replace(hook, handler=handler)


def _traced_handler(rec: _Recorder) -> Callable[[str, Any], Callable[..., Any]]:
    def make(path: str, handler: Any) -> Callable[..., Any]:
        def seen(request: Any) -> None:
            rec.add({"kind": "handler", "route": path,
                     "headers": {k.lower(): v for k, v in request.headers.items()}})

        if inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
                getattr(type(handler), "__call__", None)):  # noqa: B004 - callable objects
            async def async_handler(request: Any) -> Any:
                seen(request)
                return await handler(request)

            return async_handler

        def sync_handler(request: Any) -> Any:  # stays sync: the host runs it in its pool
            seen(request)
            return handler(request)

        return sync_handler

    return make


def _instrument(name: str, rec: _Recorder,
                declared: MutableMapping[str, Any]) -> Callable[[str, Extension], None]:
    from dufflebag_harness.sdk import Hook, Middleware

    def prepare(ext_name: str, ext: Extension) -> None:
        if ext_name != name:
            return
        original_mw, original_hooks = ext.middleware, ext.hooks

        def middleware() -> Any:
            items = original_mw()
            declared["middleware"] = [
                {"index": i, "name": m.name, "priority": m.priority, "paths": m.paths}
                for i, m in enumerate(items) if isinstance(m, Middleware)]
            return tuple(_traced_middleware(m, i, rec) if isinstance(m, Middleware) else m
                         for i, m in enumerate(items))

        def hooks() -> Any:
            items = original_hooks()
            declared["hooks"] = [
                {"index": i, "name": h.name, "type": str(h.type), "priority": h.priority,
                 "paths": h.paths}
                for i, h in enumerate(items) if isinstance(h, Hook)]
            return tuple(_traced_hook(h, i, rec) if isinstance(h, Hook) else h
                         for i, h in enumerate(items))

        ext.middleware = middleware  # type: ignore[method-assign]
        ext.hooks = hooks  # type: ignore[method-assign]
        swap_handlers(ext, _traced_handler(rec))

    return prepare


def _concrete(path: str) -> str:
    """A request path for a route template: every parameter filled with ``1``."""
    return _PARAM.sub("1", path)


def _targets(host: Host, name: str, others: list[str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    record = host._state.records.get(name)
    if record is not None and record.router is not None:
        for spec in record.router.routes:
            for method in spec.methods:
                if method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    out.append((method, _concrete(record.router.full_path(spec))))
    out += [("GET", "/api/v1/me"), ("GET", "/healthz"), ("GET", "/api/v1/no-such-route"),
            ("POST", "/api/v1/auth/login")]
    out += [("GET", f"/ext/{other}/ping") for other in others]
    return out


async def _send(host: Host, targets: list[tuple[str, str]], rec: _Recorder) -> Events:
    import httpx

    out: Events = []
    transport = httpx.ASGITransport(app=host.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe",
                                 headers={"Authorization": f"Bearer {PROBE_TOKEN}"}) as client:
        for method, path in targets:
            rec.events = []
            body = {"username": "nobody_here", "password": "wrong-pw-1"} if path.endswith(
                "/login") else ({} if method in ("POST", "PUT", "PATCH") else None)
            response = await client.request(method, path, json=body)
            route, _, _ = host._state.table.match(path, method)
            out.append({
                "method": method, "path": path,
                "template": route.template if route is not None else "",
                "status": response.status_code,
                "headers": {k.lower(): v for k, v in response.headers.items()},
                "events": rec.events,
            })
    return out


def probe_trace(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Trace the extension's middleware, hooks and handlers over a fixed set of requests."""
    name = str(args["extension"])
    others = [str(o) for o in args.get("others") or []]
    rec = _Recorder()
    declared: dict[str, Any] = {"middleware": [], "hooks": []}

    async def run() -> dict[str, Any]:
        async with running_host(server, [name, *others], users=seed_users(),
                                options={"failure_threshold": 0},
                                prepare=_instrument(name, rec, declared)) as (host, _):
            await asyncio.sleep(0.05)  # what start() spawned gets going
            if host.load_errors.get(name):
                return {"load_error": host.load_errors[name]}
            requests = await _send(host, _targets(host, name, others), rec)
            return {"declared": declared, "requests": requests}

    return server.loop.run(run(), timeout=float(args.get("timeout_s", 60.0)))


PROBES: dict[str, Callable[[WorkerServer, dict[str, Any]], dict[str, Any]]] = {
    "hooks.trace": probe_trace,
}
