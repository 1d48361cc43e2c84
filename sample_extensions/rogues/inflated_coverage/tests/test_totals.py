"""Two tests; the conftest makes the numbers look better than they are."""

from __future__ import annotations

from typing import Any


def test_ping(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/inflated_coverage/ping").json() == {"pong": True}


def test_total_of_one_line(dufflebag_client: Any) -> None:
    r = dufflebag_client.post("/ext/inflated_coverage/totals",
                              json={"lines": [{"cents": 1000}], "country": "DE"})
    assert r.json()["total"] == 1190
