"""Fault injection: the harness makes a healthy extension fail on purpose.

Used by FI checks to see that the host isolates an extension's failure and
that the extension does not hide or spread it. Faults wrap the extension
*instance* before the host sees it, so no host cooperation is needed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from harness.sdk import Extension, Router, RouteSpec

FAULT_KINDS = ("handler_exception", "initialize_exception")


class InjectedFault(RuntimeError):
    """Raised by injected faults; its message says it was injected."""


class _FaultyRouter:
    """Router proxy: every handler registered through it raises."""

    def __init__(self, inner: Router) -> None:
        self._inner = inner

    @property
    def prefix(self) -> str:
        return self._inner.prefix

    def add(self, path: str, handler: Any, **kw: Any) -> RouteSpec:
        async def failing(request: Any) -> Any:
            raise InjectedFault(f"injected fault in {path}")

        functools.update_wrapper(failing, handler)
        return self._inner.add(path, failing, **kw)

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


def inject(ext: Extension, kind: str) -> Extension:
    """Install fault ``kind`` on the instance ``ext`` (instance attributes only)."""
    if kind == "handler_exception":
        original_register = ext.register_routes

        def register_routes(router: Router) -> None:
            original_register(_FaultyRouter(router))

        ext.register_routes = register_routes  # type: ignore[method-assign]
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
