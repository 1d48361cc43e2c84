"""The neighbour extension behaves: ping, stored items, its header, its hooks."""

from __future__ import annotations

from typing import Any

PREFIX = "/ext/companion"


def test_ping_is_public_and_names_the_extension(dufflebag_client: Any) -> None:
    r = dufflebag_client.get(f"{PREFIX}/ping")
    assert r.status_code == 200
    assert r.json() == {"extension": "companion", "pong": True}
    assert r.headers["x-companion"] == "1"


def test_items_round_trip_for_an_authenticated_user(dufflebag_client: Any) -> None:
    created = dufflebag_client.post(f"{PREFIX}/items", json={"value": {"n": 7}}, as_role="user")
    assert created.status_code == 201
    item_id = created.json()["id"]
    fetched = dufflebag_client.get(f"{PREFIX}/items/{item_id}", as_role="manager")
    assert fetched.status_code == 200
    assert fetched.json() == {"extension": "companion", "id": item_id, "value": {"n": 7}}


def test_items_need_authentication(dufflebag_client: Any) -> None:
    assert dufflebag_client.post(f"{PREFIX}/items", json={"value": 1}).status_code == 401
    assert dufflebag_client.get(f"{PREFIX}/items/abc").status_code == 401


def test_missing_item_and_bad_body(dufflebag_client: Any) -> None:
    missing = dufflebag_client.get(f"{PREFIX}/items/nope", as_role="user")
    assert missing.status_code == 404
    assert missing.json()["extension"] == "companion"
    bad = dufflebag_client.post(f"{PREFIX}/items", json=[1, 2], as_role="user")
    assert bad.status_code == 422


def test_header_and_hooks_stay_on_its_own_paths(dufflebag_client: Any,
                                                dufflebag_instance: Any) -> None:
    core = dufflebag_client.get("/healthz")
    assert "x-companion" not in core.headers
    assert dufflebag_instance.seen == {"pre_request": 0, "post_request": 0}
    dufflebag_client.get(f"{PREFIX}/ping")
    assert dufflebag_instance.seen == {"pre_request": 1, "post_request": 1}
