"""The status page answers who is up, and since when."""

from __future__ import annotations

from typing import Any


def test_status_is_public(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/debug_dump/status")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"] == "1.0.0"
    assert body["up_s"] >= 0


def test_status_is_the_same_for_everyone(dufflebag_client: Any) -> None:
    anonymous = dufflebag_client.get("/ext/debug_dump/status").json()
    admin = dufflebag_client.get("/ext/debug_dump/status", as_role="admin").json()
    assert set(anonymous) == set(admin) == {"status", "version", "up_s"}
