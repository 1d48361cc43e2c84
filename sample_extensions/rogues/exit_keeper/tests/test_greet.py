"""Greeting tests."""

from __future__ import annotations

from typing import Any

from rogue_exit_keeper.extension import MAX_NAME, greeting


def test_ping(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/exit_keeper/ping").json() == {"pong": True}


def test_greets_by_name(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/exit_keeper/greet", params={"name": "Ada"})
    assert r.json() == {"greeting": "Hello, Ada!"}


def test_greets_a_stranger() -> None:
    assert greeting("  ") == "Hello, stranger!"


def test_long_names_are_cut() -> None:
    assert greeting("x" * 100).endswith("x" * MAX_NAME + "…!")
