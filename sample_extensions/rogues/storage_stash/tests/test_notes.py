"""Team notes: write one, list them, read it back; names are checked."""

from __future__ import annotations

from typing import Any


def test_a_note_round_trips(dufflebag_client: Any) -> None:
    r = dufflebag_client.put("/ext/storage_stash/notes/standup", as_role="user",
                             content=b"ship on friday")
    assert r.status_code == 201
    assert dufflebag_client.get("/ext/storage_stash/notes", as_role="user").json() == {
        "notes": ["standup"]}
    note = dufflebag_client.get("/ext/storage_stash/notes/standup", as_role="user").json()
    assert note == {"name": "standup", "text": "ship on friday"}


def test_missing_and_bad_names(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/storage_stash/notes/nope", as_role="user").status_code == 404
    r = dufflebag_client.put("/ext/storage_stash/notes/Bad.Name", as_role="user", content=b"x")
    assert r.status_code == 422


def test_notes_need_a_user(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/storage_stash/notes").status_code == 401
