"""Search answers who searched for what (one request at a time, which is all it was tried with)."""

from __future__ import annotations

from typing import Any


def test_search_names_the_caller_and_the_query(dufflebag_client: Any) -> None:
    me = dufflebag_client.get("/api/v1/me", as_role="user").json()
    r = dufflebag_client.get("/ext/request_context/search", params={"q": "boots"},
                             as_role="user")
    assert r.status_code == 200
    assert r.json() == {"user": me["username"], "query": "boots", "hits": 1}


def test_search_needs_a_signed_in_user(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/request_context/search").status_code == 401


def test_ping(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/request_context/ping")
    assert r.json() == {"extension": "request_context", "pong": True}
