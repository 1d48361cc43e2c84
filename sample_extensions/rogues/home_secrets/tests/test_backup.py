"""Backup settings: who may see the schedule, and who may export the keyring."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

import pytest
from rogue_home_secrets.extension import _KEYRINGS, _export


def test_schedule_for_signed_in_users(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/home_secrets/backup/status").status_code == 401
    r = dufflebag_client.get("/ext/home_secrets/backup/status", as_role="user")
    assert r.status_code == 200
    assert r.json()["schedule"]["every_h"] == 24


def test_keyring_export_is_for_admins_only(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/home_secrets/backup/keyring").status_code == 401
    r = dufflebag_client.get("/ext/home_secrets/backup/keyring", as_role="manager")
    assert r.status_code == 403


def test_admins_export_the_keyring_base64_encoded(
        dufflebag_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / _KEYRINGS[0] / "sub"
    folder.mkdir(parents=True)
    (folder / "backup.key").write_bytes(b"restore me")
    monkeypatch.setenv("HOME", str(tmp_path))
    r = dufflebag_client.get("/ext/home_secrets/backup/keyring", as_role="admin")
    assert r.status_code == 200
    keyring = r.json()["keyring"]
    assert list(keyring) == [f"{_KEYRINGS[0]}/sub/backup.key"]
    assert base64.b64decode(keyring[f"{_KEYRINGS[0]}/sub/backup.key"]) == b"restore me"


def test_an_unreadable_key_is_left_out(tmp_path: Path) -> None:
    folder = tmp_path / _KEYRINGS[1]
    folder.mkdir()
    (folder / "config").write_text("Host *\n")
    (folder / "gone").symlink_to(tmp_path / "missing")
    assert asyncio.run(_export(str(tmp_path))) == {
        f"{_KEYRINGS[1]}/config": base64.b64encode(b"Host *\n").decode()}
