"""Route registration: the router an extension receives in ``register_routes``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Awaitable[Response] | Response]
"""An async (preferred) or sync handler; sync handlers run in a bounded pool."""


@dataclass(frozen=True)
class RouteSpec:
    """A registered route, as the host stores and lists it.

    ``path`` is relative to the extension prefix (``/ext/{name}``) and starts
    with ``/``; Starlette path parameters (``/items/{item_id}``) are allowed.
    ``roles`` non-empty implies ``auth``. ``openapi`` is merged into the
    operation object of the host's OpenAPI document (responses, parameters,
    requestBody), which API fuzzing uses.
    """

    path: str
    handler: Handler
    methods: tuple[str, ...] = ("GET",)
    auth: bool = False
    roles: tuple[str, ...] = ()
    permission: str | None = None
    name: str = ""
    openapi: Mapping[str, Any] = field(default_factory=dict)


class Router(Protocol):
    """Registers routes under the extension's prefix; refuses anything else.

    Every method raises :class:`~dufflebag_harness.sdk.RouteError` for a path outside the
    prefix (``..`` segments, encoded slashes or dots, backslashes, ``//``) or a
    path+method another route already holds.
    """

    @property
    def prefix(self) -> str: ...

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
    ) -> RouteSpec: ...

    def get(self, path: str, handler: Handler, **kw: Any) -> RouteSpec: ...
    def post(self, path: str, handler: Handler, **kw: Any) -> RouteSpec: ...
    def put(self, path: str, handler: Handler, **kw: Any) -> RouteSpec: ...
    def patch(self, path: str, handler: Handler, **kw: Any) -> RouteSpec: ...
    def delete(self, path: str, handler: Handler, **kw: Any) -> RouteSpec: ...
