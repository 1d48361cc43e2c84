"""The one route-driving rule the checks share (``conformance._routes``).

The admission rule is a mirror of the host's (``Authorizer.decide``) for the
runner's seeded users, so it is tested against both: if either changes, the
checks would send requests the host refuses, and this says so first.
"""

from __future__ import annotations

import itertools
from typing import Any, cast

import pytest

from dufflebag_harness.conformance._routes import (
    Call,
    Route,
    calls,
    concrete,
    operation_route,
    parse_routes,
)
from dufflebag_harness.inside.host._auth import Authorizer
from dufflebag_harness.outside.runner.context import SEED_ROLES
from dufflebag_harness.sdk import Permission, User

INFO: dict[str, Any] = {"routes": [
    {"path": "/ext/demo/items", "methods": ["GET", "POST"], "auth": False, "roles": [],
     "permission": None},
    {"path": "/ext/demo/items/{item_id:int}", "methods": ["GET", "PUT", "DELETE"],
     "auth": True, "roles": ["admin", "manager"], "permission": None},
    {"path": "/ext/demo/audit", "methods": ["GET"], "auth": True, "roles": ["auditor"],
     "permission": None},
    {"path": "/ext/demo/report", "methods": ["PATCH", "HEAD", "OPTIONS"], "auth": True,
     "roles": [], "permission": "demo.view"},
]}


def test_management_api_routes_become_requests_with_the_least_privileged_role() -> None:
    assert [c.label for c in calls(parse_routes(INFO, "demo"))] == [
        "GET /ext/demo/items", "POST /ext/demo/items",
        "GET /ext/demo/items/1", "PUT /ext/demo/items/1", "DELETE /ext/demo/items/1",
        "PATCH /ext/demo/report"]
    roles = {c.label: c.role for c in calls(parse_routes(INFO, "demo"))}
    assert roles["GET /ext/demo/items"] is None
    assert roles["PUT /ext/demo/items/1"] == "manager"  # not admin: the least it admits
    assert roles["PATCH /ext/demo/report"] == "admin"  # admin holds every permission


def test_routes_no_seeded_user_may_call_are_left_out_unless_asked_for() -> None:
    audit = parse_routes(INFO, "demo")[2]
    assert not audit.admitted and audit.calls() == []
    assert audit.calls(refused_too=True) == [Call("GET", "/ext/demo/audit", "admin")]
    assert parse_routes(INFO, "demo")[0].admitted  # open routes admit anyone


def test_only_registered_methods_are_called() -> None:
    items = parse_routes(INFO, "demo")[0]
    assert [c.method for c in items.calls()] == ["GET", "POST"]  # never the HEAD GET implies
    assert [c.method for c in items.calls(("GET",))] == ["GET"]


def test_paths_get_the_prefix_and_values_their_converters_accept() -> None:
    route = parse_routes({"routes": [{"path": "/files/{name}"}]}, "demo")[0]
    assert route.template == "/ext/demo/files/{name}" and route.methods == ("GET",)
    assert concrete("/x/{a:int}/{b}/{c:path}/{d:float}") == "/x/1/1/1/1"
    assert concrete("/x/{key:uuid}") == "/x/00000000-0000-4000-8000-000000000001"


def test_body_carrying_methods_send_a_json_object() -> None:
    assert Call("POST", "/p").json == {} and Call("PATCH", "/p").body() == {"json": {}}
    assert Call("GET", "/p").body() == {} and Call("DELETE", "/p").body() == {}
    assert Call("PUT", "/p", json={"a": 1}).json == {"a": 1}


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str | None, dict[str, Any]]] = []

    def request(self, method: str, path: str, *, as_role: str | None = None,
                **kwargs: Any) -> Any:
        self.sent.append((method, path, as_role, kwargs))
        return None


def test_send_and_as_role() -> None:
    host = _Recorder()
    call = Call("POST", "/ext/demo/items", "user")
    call.send(cast(Any, host), timeout=3.0)
    call.as_role(None).send(cast(Any, host))
    assert host.sent == [("POST", "/ext/demo/items", "user", {"json": {}, "timeout": 3.0}),
                         ("POST", "/ext/demo/items", None, {"json": {}})]


def test_openapi_operations_follow_the_same_rule() -> None:
    op = {"x-dufflebag-auth": True, "x-dufflebag-roles": ["user", "manager"]}
    assert operation_route("/ext/demo/x", "get", op).role == "user"
    assert operation_route("/ext/demo/x", "get", {}).role is None
    assert operation_route("/ext/demo/x", "get", {"x-dufflebag-auth": True}).role == "user"
    perm = {"x-dufflebag-auth": True, "x-dufflebag-permission": "demo.view"}
    assert operation_route("/ext/demo/x", "get", perm).role == "admin"
    stranger = {"x-dufflebag-auth": True, "x-dufflebag-roles": ["auditor"]}
    assert operation_route("/ext/demo/x", "get", stranger).role == "admin"  # refused: 403


ROLE_SETS = [(), ("admin",), ("manager",), ("user",), ("admin", "manager"), ("auditor",),
             ("user", "auditor")]


@pytest.mark.parametrize(("roles", "permission"),
                         list(itertools.product(ROLE_SETS, [None, "demo.view"])))
def test_admission_mirrors_the_host_for_every_seeded_user(roles: tuple[str, ...],
                                                         permission: str | None) -> None:
    authz = Authorizer(cast(Any, None), {})
    authz.define("demo", (Permission("demo.view", "reports"),))
    route = Route("/ext/demo/x", ("GET",), auth=True, roles=roles, permission=permission)
    for seeded, (uid, held) in SEED_ROLES.items():
        user = User(uid, seeded, roles=frozenset(held))
        host_admits = authz.decide(user, auth=True, roles=roles, permission=permission) is None
        assert route.admits(seeded) == host_admits, (seeded, roles, permission)
    assert not route.admits(None)
    if route.admitted:
        assert route.role in SEED_ROLES and route.admits(route.role)
        assert set(route.refused_roles) == {r for r in SEED_ROLES
                                            if r != "deleted" and not route.admits(r)}
