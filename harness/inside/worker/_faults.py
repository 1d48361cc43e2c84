"""Fault injection: the harness makes a healthy extension fail on purpose.

Used by FI checks to see that the host isolates an extension's failure and
that the extension does not hide or spread it. Faults wrap the extension
*instance* before the host sees it, so no host cooperation is needed.

Kinds: ``handler_exception`` (every route handler raises), ``handler_hang``
(every route handler awaits forever, so the host's request timeout must
answer), ``hook_exception`` (every hook handler raises) and
``initialize_exception`` (initialize raises after running).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dufflebag_harness.sdk import Extension, Hook, HookContext, Router, RouteSpec

FAULT_KINDS = ("handler_exception", "handler_hang", "hook_exception", "initialize_exception")


class InjectedFault(RuntimeError):
    """Raised by injected faults; its message says it was injected."""


#: Makes the handler registered in place of ``handler`` for route ``path``.
HandlerSwap = Callable[[str, Any], Callable[..., Any]]


def _raising(path: str, handler: Any) -> Callable[[Any], Any]:
    async def failing(request: Any) -> Any:
        raise InjectedFault(f"injected fault in {path}")

    return failing


def _hanging(path: str, handler: Any) -> Callable[[Any], Any]:
    async def hanging(request: Any) -> Any:
        await asyncio.Event().wait()  # nobody sets it: only the host's timeout ends this
        raise InjectedFault(f"injected hang in {path} ended")

    return hanging


class SwappingRouter:
    """Router proxy: every handler registered through it is replaced by ``make(path, handler)``."""

    def __init__(self, inner: Router, make: HandlerSwap) -> None:
        self._inner = inner
        self._make = make

    @property
    def prefix(self) -> str:
        return self._inner.prefix

    def add(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        swapped = self._make(path, handler)
        if callable(handler):
            functools.update_wrapper(swapped, handler)
        return self._inner.add(path, swapped, **kw)

    def _method(self, method: str, path: str, handler: Any, **kw: Any) -> RouteSpec:
        kw["methods"] = (method,)
        return self.add(path, handler, **kw)

    def get(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        return self._method("GET", path, handler, **kw)

    def post(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        return self._method("POST", path, handler, **kw)

    def put(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        return self._method("PUT", path, handler, **kw)

    def patch(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        return self._method("PATCH", path, handler, **kw)

    def delete(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        return self._method("DELETE", path, handler, **kw)


def _failing_hook(hook: Hook) -> Hook:
    def failing(ctx: HookContext) -> None:
        raise InjectedFault(f"injected fault in hook {hook.name!r}")

    return dataclasses.replace(hook, handler=failing)


def swap_handlers(ext: Extension, make: HandlerSwap) -> None:
    """Make every route ``ext`` registers use ``make(path, handler)`` instead of its handler."""
    original_register = ext.register_routes

    def register_routes(router: Router) -> None:
        original_register(SwappingRouter(router, make))

    ext.register_routes = register_routes  # type: ignore[method-assign]


def inject(ext: Extension, kind: str) -> Extension:
    """Install fault ``kind`` on the instance ``ext`` (instance attributes only)."""
    if kind == "handler_exception":
        swap_handlers(ext, _raising)
    elif kind == "handler_hang":
        swap_handlers(ext, _hanging)
    elif kind == "hook_exception":
        original_hooks = ext.hooks

        def hooks() -> Sequence[Hook]:
            # anything that is not a sequence of Hooks is left for the host to refuse as usual
            items = original_hooks()
            if not isinstance(items, Sequence) or isinstance(items, str):
                return items
            return tuple(_failing_hook(h) if isinstance(h, Hook) else h for h in items)

        ext.hooks = hooks  # type: ignore[method-assign]
    elif kind == "initialize_exception":
        original_init = ext.initialize

        async def initialize(services: Any) -> None:
            result = original_init(services)
            if hasattr(result, "__await__"):
                await result
            raise InjectedFault("injected fault after initialize")

        ext.initialize = initialize  # type: ignore[method-assign]
    else:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    return ext


def apply_faults(instances: Mapping[str, Extension], faults: Mapping[str, str]) -> None:
    for name, kind in faults.items():
        if name in instances:
            inject(instances[name], kind)
