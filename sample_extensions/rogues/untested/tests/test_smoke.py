"""Smoke tests: the extension answers. (Nothing about votes or results.)"""

from __future__ import annotations

from typing import Any


def test_ping(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/untested/ping").json() == {"pong": True}


def test_create_poll(dufflebag_client: Any) -> None:
    r = dufflebag_client.post("/ext/untested/polls", as_role="user",
                              json={"question": "Lunch?", "options": ["soup", "salad"]})
    assert r.status_code == 201
