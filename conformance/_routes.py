"""Which requests exercise an extension's routes, and as whom: one answer for every check.

Fault injection, configuration, performance, database, security, authentication,
quota and fuzz checks all drive the extension's routes, and each used to decide
for itself which routes to call, with which methods, bodies and roles. The
copies drifted (a permission-protected route was sent as ``admin`` by one and as
``user`` — refused 403 before the handler runs — by the others), so a verdict
depended on which check looked. The decisions live here:

* **routes** are the host's own table: the management API
  (``GET /api/v1/extensions/{name}``) or the ``x-dufflebag-*`` fields of its
  OpenAPI document — what the extension registered, nothing it claims elsewhere;
* **methods** are those a route was registered with, never ``HEAD``, which the
  host merely accepts on every ``GET`` route; of those, the ones a harness can
  call meaningfully (GET, POST, PUT, PATCH, DELETE);
* **paths** have their parameters filled with a value the parameter's converter
  accepts, so the request reaches the route rather than a 404;
* **roles** follow the host's admission rule (``Authorizer.decide``) for the
  seeded users: the *least*-privileged role the route admits, so a handler that
  quietly demands more than the route declares is caught; ``admin`` for a
  permission (it holds every permission an extension defines). A route no seeded
  user is admitted to is left out unless asked for (``refused_too``), and then
  sent as ``admin``: the host refuses it, but the extension's middleware and hooks
  in front of the gate still run;
* **bodies**: a body-carrying method sends a JSON object — ``{}`` unless a caller
  gives one, the most a harness can guess without the author's schema.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from dufflebag_harness.conformance._probing import details
from dufflebag_harness.conformance._types import HostHandle

__all__ = [
    "ADMISSIBLE_ROLES",
    "BODY_METHODS",
    "CALLABLE_METHODS",
    "MUTATING_METHODS",
    "Call",
    "Route",
    "calls",
    "concrete",
    "operation_route",
    "parse_routes",
    "route_table",
]

#: Methods a harness calls on a route registered with them.
CALLABLE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Methods whose requests carry a JSON body.
BODY_METHODS = ("POST", "PUT", "PATCH")
#: Methods that change state (the ones an audit entry is owed for).
MUTATING_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: Seeded roles a route can admit, least privileged first.
ADMISSIBLE_ROLES = ("user", "manager", "admin")
#: The roles each seeded user holds (the runner's ``SEED_ROLES``): ``outsider`` holds
#: none; ``deleted`` is absent because the host refuses it whatever it holds.
_HELD: Mapping[str, frozenset[str]] = {
    "admin": frozenset({"admin"}), "manager": frozenset({"manager"}),
    "user": frozenset({"user"}), "outsider": frozenset(),
}
_PARAM = re.compile(r"\{([^}:]+)(?::([^}]*))?\}")
#: A value each converter accepts; every other parameter (str, path, int, float) takes "1".
_FILL = {"uuid": "00000000-0000-4000-8000-000000000001"}


def concrete(template: str) -> str:
    """``template`` with each path parameter filled by a value its converter accepts."""
    return _PARAM.sub(lambda m: _FILL.get(m.group(2) or "", "1"), template)


@dataclass(frozen=True)
class Call:
    """One request: ``role`` names the seeded user's token (``None``: anonymous).

    A body-carrying method always carries a JSON body (``{}`` unless ``json`` is
    given), so no check sends a POST the handler cannot parse while another sends one
    it can.
    """

    method: str
    path: str
    role: str | None = None
    json: Any = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if self.json is None and self.method in BODY_METHODS:
            object.__setattr__(self, "json", {})

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def as_role(self, role: str | None) -> Call:
        """The same request sent as ``role`` instead."""
        return replace(self, role=role)

    def body(self) -> dict[str, Any]:
        """The request's body as keyword arguments of ``host.request`` (none for a GET)."""
        return {} if self.json is None else {"json": self.json}

    def send(self, host: HostHandle, **kwargs: Any) -> httpx.Response:
        """Send it to ``host``; ``kwargs`` (headers, timeout) go to ``host.request``."""
        return host.request(self.method, self.path, as_role=self.role, **self.body(), **kwargs)


@dataclass(frozen=True)
class Route:
    """One registered route as the host lists it, and the host's admission rule for it."""

    template: str
    methods: tuple[str, ...]
    auth: bool = False
    roles: tuple[str, ...] = ()
    permission: str | None = None

    @property
    def protected(self) -> bool:
        """Whether the host authenticates requests to it (it adds ``auth`` for roles and
        permissions itself; a table from elsewhere may not have)."""
        return self.auth or bool(self.roles) or bool(self.permission)

    @property
    def path(self) -> str:
        return concrete(self.template)

    def admits(self, role: str | None) -> bool:
        """Whether the host lets the seeded user ``role`` (``None``: anonymous) through."""
        if not self.protected:
            return True
        held = _HELD.get(role) if role is not None else None
        if held is None:
            return False  # anonymous, or the deleted user
        if self.roles and not held & set(self.roles):
            return False
        return not self.permission or "admin" in held

    @property
    def admitted(self) -> bool:
        """Whether anyone the harness can send gets past the host's gate."""
        return any(self.admits(r) for r in (None, *ADMISSIBLE_ROLES))

    @property
    def role(self) -> str | None:
        """Who to send requests as: ``None`` on an open route, else the least-privileged
        admitted seeded role; ``admin`` when none is admitted (see the module docstring)."""
        if not self.protected:
            return None
        return next((r for r in ADMISSIBLE_ROLES if self.admits(r)), "admin")

    @property
    def refused_roles(self) -> list[str]:
        """Seeded roles (``deleted`` aside) the host must refuse on this route."""
        return [r for r in ("admin", "manager", "user", "outsider") if not self.admits(r)]

    def calls(self, methods: Collection[str] = CALLABLE_METHODS, *,
              refused_too: bool = False) -> list[Call]:
        """A request per registered method in ``methods``, as :attr:`role`; none when no
        seeded user is admitted, unless ``refused_too``."""
        if not (self.admitted or refused_too):
            return []
        return [Call(m, self.path, self.role) for m in self.methods if m in methods]


def _full_path(name: str, path: str) -> str:
    prefix = f"/ext/{name}"
    return path if path.startswith(prefix + "/") or path == prefix else prefix + path


def parse_routes(info: Mapping[str, Any], name: str) -> list[Route]:
    """The routes in the management API's answer about extension ``name``, full paths."""
    return [Route(template=_full_path(name, str(r["path"])),
                  methods=tuple(str(m).upper() for m in r.get("methods", ["GET"])),
                  auth=bool(r.get("auth")), roles=tuple(str(x) for x in r.get("roles") or ()),
                  permission=r.get("permission") or None)
            for r in info.get("routes", [])]


def route_table(host: HostHandle, name: str) -> list[Route]:
    """Extension ``name``'s routes, as ``host`` lists them (fails when it cannot)."""
    return parse_routes(details(host, name), name)


def operation_route(path: str, method: str, operation: Mapping[str, Any]) -> Route:
    """The route behind one operation of the host's OpenAPI document."""
    return Route(template=path, methods=(method.upper(),),
                 auth=bool(operation.get("x-dufflebag-auth")),
                 roles=tuple(str(r) for r in operation.get("x-dufflebag-roles") or ()),
                 permission=operation.get("x-dufflebag-permission") or None)


def calls(routes: Iterable[Route], methods: Collection[str] = CALLABLE_METHODS, *,
          refused_too: bool = False) -> list[Call]:
    """Every request that exercises ``routes``, route by route (see :meth:`Route.calls`)."""
    return [call for route in routes for call in route.calls(methods, refused_too=refused_too)]
