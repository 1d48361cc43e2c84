"""Backup settings: who may see the schedule, and who may export the keyring."""

from __future__ import annotations

from typing import Any


def test_schedule_for_signed_in_users(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/home_secrets/backup/status").status_code == 401
    r = dufflebag_client.get("/ext/home_secrets/backup/status", as_role="user")
    assert r.status_code == 200
    assert r.json()["schedule"]["every_h"] == 24


def test_keyring_export_is_for_admins_only(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/home_secrets/backup/keyring").status_code == 401
    r = dufflebag_client.get("/ext/home_secrets/backup/keyring", as_role="manager")
    assert r.status_code == 403
