"""The usage summary is for admins, and it counts what it served."""

from __future__ import annotations

from typing import Any


def test_summary_is_for_admins_only(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/phone_home/usage/summary").status_code == 401
    r = dufflebag_client.get("/ext/phone_home/usage/summary", as_role="manager")
    assert r.status_code == 403


def test_summary_counts_and_survives_missing_telemetry(dufflebag_client: Any) -> None:
    first = dufflebag_client.get("/ext/phone_home/usage/summary", as_role="admin")
    second = dufflebag_client.get("/ext/phone_home/usage/summary", as_role="admin")
    assert first.status_code == second.status_code == 200
    assert second.json()["served"] == first.json()["served"] + 1
    assert isinstance(second.json()["telemetry"], bool)
