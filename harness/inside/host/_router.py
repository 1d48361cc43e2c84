"""The router an extension registers its routes with (the SDK ``Router`` protocol).

It only collects and validates: the host compiles the collected routes into its
route table when the table is (re)built, so a refused route never reaches it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.inside.host._paths import check_route_path, route_shape
from dufflebag_harness.sdk import Handler, RouteError, RouteSpec

__all__ = ["HTTP_METHODS", "ExtensionRouter"]

log = logging.getLogger("dufflebag.host.router")

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ExtensionRouter:
    """Collects one extension's routes under ``/ext/{name}``; refuses unsafe ones.

    Every refusal is also remembered in :attr:`refused` (and logged), so an
    extension that catches the :class:`RouteError` and carries on still shows
    the attempt in the management API.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._prefix = f"/ext/{name}"
        self._routes: list[RouteSpec] = []
        self._taken: dict[tuple[str, str], RouteSpec] = {}
        self._refused: list[dict[str, Any]] = []

    @property
    def refused(self) -> tuple[dict[str, Any], ...]:
        """Refused registrations: ``{"path", "methods", "reason"}`` each."""
        return tuple(dict(r) for r in self._refused)

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def routes(self) -> tuple[RouteSpec, ...]:
        return tuple(self._routes)

    def full_path(self, spec: RouteSpec) -> str:
        return self._prefix + spec.path

    def add(
        self,
        path: str,
        handler: Handler,
        *,
        methods: tuple[str, ...] = ("GET",),
        auth: bool = False,
        roles: tuple[str, ...] = (),
        permission: str | None = None,
        name: str = "",
        openapi: Mapping[str, Any] | None = None,
    ) -> RouteSpec:
        try:
            return self._add(path, handler, methods, auth, roles, permission, name, openapi)
        except RouteError as exc:
            shown = [str(m) for m in methods] if isinstance(methods, tuple | list) else [
                str(methods)]
            self._refused.append({"path": str(path), "methods": shown, "reason": str(exc)})
            log.warning("%s", exc, extra={"extension": self._name})
            raise

    def _add(
        self,
        path: str,
        handler: Handler,
        methods: tuple[str, ...],
        auth: bool,
        roles: tuple[str, ...],
        permission: str | None,
        name: str,
        openapi: Mapping[str, Any] | None,
    ) -> RouteSpec:
        where = f"extension {self._name!r}"
        check_route_path(path, where=where)
        if not callable(handler):
            raise RouteError(f"{where}: handler for {path!r} is not callable")
        if isinstance(methods, str) or not methods:
            raise RouteError(f"{where}: methods for {path!r} must be a non-empty tuple")
        upper = tuple(dict.fromkeys(str(m).upper() for m in methods))
        unknown = [m for m in upper if m not in HTTP_METHODS]
        if unknown:
            raise RouteError(f"{where}: unknown HTTP method(s) {unknown} for {path!r}")
        if isinstance(roles, str) or not all(isinstance(r, str) and r for r in roles):
            raise RouteError(f"{where}: roles for {path!r} must be a tuple of role names")
        if permission is not None and (not isinstance(permission, str) or not permission):
            raise RouteError(f"{where}: permission for {path!r} must be a non-empty string")
        if openapi is not None and not isinstance(openapi, Mapping):
            raise RouteError(f"{where}: openapi for {path!r} must be a mapping")
        spec = RouteSpec(
            path=path,
            handler=handler,
            methods=upper,
            auth=bool(auth or roles or permission),
            roles=tuple(roles),
            permission=permission,
            name=name,
            openapi=dict(openapi or {}),
        )
        shape = route_shape(path)
        for method in upper:
            held = self._taken.get((shape, method))
            if held is not None:
                raise RouteError(
                    f"{where}: route {method} {self._prefix}{path} conflicts with "
                    f"{method} {self._prefix}{held.path}"
                    + (f" (route {held.name!r})" if held.name else "")
                )
        for method in upper:
            self._taken[(shape, method)] = spec
        self._routes.append(spec)
        return spec

    def get(self, path: str, handler: Handler, **kw: Any) -> RouteSpec:
        return self.add(path, handler, methods=("GET",), **kw)

    def post(self, path: str, handler: Handler, **kw: Any) -> RouteSpec:
        return self.add(path, handler, methods=("POST",), **kw)

    def put(self, path: str, handler: Handler, **kw: Any) -> RouteSpec:
        return self.add(path, handler, methods=("PUT",), **kw)

    def patch(self, path: str, handler: Handler, **kw: Any) -> RouteSpec:
        return self.add(path, handler, methods=("PATCH",), **kw)

    def delete(self, path: str, handler: Handler, **kw: Any) -> RouteSpec:
        return self.add(path, handler, methods=("DELETE",), **kw)
