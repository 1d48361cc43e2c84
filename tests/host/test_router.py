"""Routes live only under /ext/{name}/; escapes and conflicts are refused."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.inside.host import ExtensionState
from dufflebag_harness.inside.host._router import ExtensionRouter
from dufflebag_harness.sdk import Extension, JSONResponse, Request, Response, RouteError

from ._helpers import Echo, auth, meta, raw_request, run, serve


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True})


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/../api/v1/extensions", "'..' segment"),
        ("/a/../../b", "'..' segment"),
        ("/./a", "'.' segment"),
        ("/a/.", "'.' segment"),
        ("/a//b", "empty segment"),
        ("//api", "empty segment"),
        ("/a\\b", "backslash"),
        ("/a%2fb", "percent-encoded"),
        ("/a%2Fb", "percent-encoded"),
        ("/%2e%2e/x", "percent-encoded"),
        ("/%2E/x", "percent-encoded"),
        ("/a%25b", "percent-encoded"),
        ("/a\x00b", "NUL"),
        ("relative", "must start with '/'"),
        ("", "must start with '/'"),
        ("/a?b=1", "'?'"),
        ("/a#b", "'#'"),
        ("/a b", "whitespace"),
        ("/{x:nope}", "unknown parameter type"),
        ("/{x}/{x}", "repeats parameter"),
        ("/{x", "malformed"),
    ],
)
def test_unsafe_route_paths_are_refused(path: str, why: str) -> None:
    router = ExtensionRouter("alpha")
    with pytest.raises(RouteError) as info:
        router.get(path, ok)
    assert why in str(info.value)
    assert "extension 'alpha'" in str(info.value)
    assert router.routes == ()


def test_route_paths_that_look_odd_but_are_safe_are_accepted() -> None:
    router = ExtensionRouter("alpha")
    for path in ("/", "/files/report.v1.pdf", "/a..b", "/items/{item_id:int}", "/f/{p:path}"):
        router.get(path, ok)
    assert [r.path for r in router.routes][-1] == "/f/{p:path}"
    assert router.full_path(router.routes[0]) == "/ext/alpha/"


def test_conflict_names_both_routes_and_ignores_parameter_names() -> None:
    router = ExtensionRouter("alpha")
    router.add("/items/{item_id}", ok, methods=("GET", "POST"), name="first")
    router.put("/items/{other}", ok)  # another method: no conflict
    with pytest.raises(RouteError) as info:
        router.get("/items/{name}", ok)
    message = str(info.value)
    assert "GET /ext/alpha/items/{name}" in message
    assert "GET /ext/alpha/items/{item_id}" in message and "'first'" in message


def test_bad_methods_roles_and_handlers_are_refused() -> None:
    router = ExtensionRouter("alpha")
    with pytest.raises(RouteError, match="unknown HTTP method"):
        router.add("/x", ok, methods=("FETCH",))
    with pytest.raises(RouteError, match="not callable"):
        router.get("/x", "nope")  # type: ignore[arg-type]
    with pytest.raises(RouteError, match="roles"):
        router.get("/x", ok, roles="admin")
    spec = router.get("/x", ok, roles=("manager",))
    assert spec.auth is True  # roles imply authentication


class Escaper(Extension):
    metadata = meta("escaper")

    def register_routes(self, router: Any) -> None:
        router.get("/fine", ok)
        router.get("/../../api/v1/extensions", ok)


def test_extension_registering_an_escape_is_not_loaded(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Escaper(), Echo()) as (host, client):
            assert host.state("escaper") is ExtensionState.FAILED
            assert host.load_errors["escaper"].startswith("register_routes raised RouteError:")
            assert (await client.get("/ext/escaper/fine")).status_code == 404
            assert (await client.get("/ext/echo/ping")).status_code == 200

    run(body())


class Catchall(Extension):
    """Would receive anything an escape smuggled into its prefix."""

    metadata = meta("catchall")

    def register_routes(self, router: Any) -> None:
        async def grab(request: Request) -> Response:
            return JSONResponse({"grabbed": request.path_params["rest"]})

        router.get("/{rest:path}", grab)


@pytest.mark.parametrize(
    "raw",
    [
        b"/ext/catchall/..%2f..%2fapi%2fv1%2fextensions",
        b"/ext/catchall/%2e%2e/%2e%2e/api/v1/extensions",
        b"/ext/catchall/%2E%2E%2Fecho%2Fping",
        b"/ext/catchall/x%252e%252e/echo",
        b"/ext/catchall/a%5c..%5cb",
        b"/ext/catchall/a%00b",
    ],
)
def test_encoded_escapes_in_requests_reach_nothing(tmp_path: Path, raw: bytes) -> None:
    async def body() -> None:
        async with serve(tmp_path, Catchall(), Echo()) as (host, _client):
            status, payload = await raw_request(
                host.app, "GET", raw, headers=[(b"authorization", auth("admin")["Authorization"]
                                               .encode())]
            )
            assert status == 400
            assert payload["error"] == "invalid path"

    run(body())


@pytest.mark.parametrize(
    "path",
    ["/ext/catchall/../../api/v1/extensions", "/ext/catchall/./x", "/ext//catchall/x",
     "/ext/catchall/a\\b"],
)
def test_decoded_dot_segments_and_slashes_are_refused(tmp_path: Path, path: str) -> None:
    async def body() -> None:
        async with serve(tmp_path, Catchall()) as (host, _client):
            status, payload = await raw_request(host.app, "GET", path.encode(), path=path)
            assert (status, payload["error"]) == (400, "invalid path")

    run(body())


def test_routes_match_only_their_own_prefix_and_methods(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Echo("one"), Echo("two")) as (_host, client):
            assert (await client.get("/ext/one/ping")).json() == {"ext": "one", "pong": True}
            assert (await client.get("/ext/two/ping")).json()["ext"] == "two"
            assert (await client.get("/ext/one/items/7")).json() == {"ext": "one", "id": 7}
            assert (await client.get("/ext/one/items/x")).status_code == 404
            assert (await client.get("/ext/three/ping")).status_code == 404
            assert (await client.get("/ping")).status_code == 404
            refused = await client.post("/ext/one/ping")
            assert refused.status_code == 405
            assert refused.headers["allow"] == "GET, HEAD"
            assert (await client.head("/ext/one/ping")).status_code == 200

    run(body())


class Swallower(Extension):
    """Catches the RouteError and carries on: the attempt must stay visible."""

    metadata = meta("swallower")

    def register_routes(self, router: Any) -> None:
        router.get("/ping", ok)
        with contextlib.suppress(RouteError):
            router.get("/../../api/v1/me", ok)


def test_refused_attempts_are_listed_even_when_the_extension_swallows_them(
    tmp_path: Path,
) -> None:
    async def body() -> None:
        async with serve(tmp_path, Swallower()) as (host, client):
            assert host.state("swallower") is ExtensionState.ACTIVE
            details = (await client.get("/api/v1/extensions/swallower",
                                        headers=auth("user"))).json()
            assert [r["path"] for r in details["routes"]] == ["/ext/swallower/ping"]
            [refused] = details["refused_routes"]
            assert refused["path"] == "/../../api/v1/me" and refused["methods"] == ["GET"]
            assert "'..' segment" in refused["reason"]

    run(body())
