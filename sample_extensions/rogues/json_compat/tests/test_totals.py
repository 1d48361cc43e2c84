"""Invoice totals encode Decimal amounts and dates."""

from __future__ import annotations

from typing import Any


def test_totals_are_strings_and_iso_dates(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/json_compat/totals")
    assert r.status_code == 200
    assert r.json() == {"net": "120.50", "tax": "22.90", "due": "2026-01-31"}


def test_ping(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/json_compat/ping")
    assert r.json() == {"extension": "json_compat", "pong": True}
