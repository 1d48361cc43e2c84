"""Greeting tests, written for 1.0 ("Hello X") and not updated for 1.1."""

from __future__ import annotations

from typing import Any

from rogue_stale_tests.extension import MAX_NAME, greeting


def test_ping(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/stale_tests/ping").json() == {"pong": True}


def test_greets_by_name(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/stale_tests/greet", params={"name": "Ada"})
    assert r.json() == {"greeting": "Hello Ada"}  # stale: 1.1 says "Hello, Ada!"


def test_greets_a_stranger() -> None:
    assert greeting("  ") == "Hello stranger"  # stale as well


def test_long_names_are_cut() -> None:
    assert greeting("x" * 100).endswith("x" * MAX_NAME + "…!")
