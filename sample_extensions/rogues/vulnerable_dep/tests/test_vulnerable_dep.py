"""vulnerable_dep's own tests: run by `dufflebag-cert certify` under its coverage (>= 80 %).

The fixtures come from the harness's pytest plugin, which registers itself when the
harness is installed (run `python -m pytest tests`; no `-p` needed):
`dufflebag_client` talks to a real reference host running this extension on
in-memory SQLite, `dufflebag_db` is the extension's own schema in that host.
"""

from __future__ import annotations

from typing import Any

import pytest
from dufflebag_harness.sdk import ConfigError
from rogue_vulnerable_dep.extension import DEFAULT_CONFIG, Rogue

HELLO = "/ext/vulnerable_dep/hello"
NOTES = "/ext/vulnerable_dep/notes"


def test_hello_answers_the_default_greeting(dufflebag_client: Any) -> None:
    r = dufflebag_client.get(HELLO)
    assert r.status_code == 200
    assert r.json() == {"message": "Hello from rogue_vulnerable_dep"}


@pytest.mark.dufflebag(config={"greeting": "Bonjour"})
def test_hello_uses_the_configured_greeting(dufflebag_client: Any) -> None:
    assert dufflebag_client.get(HELLO).json() == {"message": "Bonjour from rogue_vulnerable_dep"}


def test_greeting_changes_without_restart(dufflebag_client: Any, dufflebag_host: Any) -> None:
    dufflebag_host.set_config("vulnerable_dep", {"greeting": "Hi"})
    assert dufflebag_client.get(HELLO).json() == {"message": "Hi from rogue_vulnerable_dep"}


def test_notes_need_a_signed_in_user(dufflebag_client: Any) -> None:
    assert dufflebag_client.get(NOTES).status_code == 401
    assert dufflebag_client.post(NOTES, json={"text": "x"}).status_code == 401
    assert dufflebag_client.get(NOTES, as_role="deleted").status_code == 403


def test_a_stored_note_is_listed_with_its_author(
    dufflebag_client: Any, dufflebag_users: Any, dufflebag_db: Any, dufflebag_portal: Any
) -> None:
    created = dufflebag_client.post(NOTES, json={"text": "first"}, as_role="user")
    assert created.status_code == 201
    note = created.json()
    assert note["text"] == "first"
    assert note["slug"] == "first"
    assert note["author_id"] == dufflebag_users["user"].id
    listed = dufflebag_client.get(NOTES, as_role="manager").json()["notes"]
    assert [n["id"] for n in listed] == [note["id"]]
    rows = dufflebag_portal.call(dufflebag_db.fetch_all, "SELECT text FROM notes")
    assert rows == [{"text": "first"}]


@pytest.mark.parametrize("body", [b"not json", b'["text"]', b'{"text": ""}', b'{"text": 5}'])
def test_bad_bodies_are_refused_with_422(dufflebag_client: Any, body: bytes) -> None:
    r = dufflebag_client.post(NOTES, content=body, as_role="user",
                              headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "error" in r.json()


@pytest.mark.dufflebag(config={"max_note_length": 3})
def test_the_length_limit_is_configurable(dufflebag_client: Any) -> None:
    assert dufflebag_client.post(NOTES, json={"text": "abcd"}, as_role="user").status_code == 422
    assert dufflebag_client.post(NOTES, json={"text": "abc"}, as_role="user").status_code == 201


def test_creating_a_note_is_audited(dufflebag_client: Any, dufflebag_host: Any,
                                    dufflebag_users: Any) -> None:
    note = dufflebag_client.post(NOTES, json={"text": "audited"}, as_role="admin").json()
    entries = [(e.user_id, e.action, dict(e.metadata)) for e in dufflebag_host.audit_log
               if e.extension == "vulnerable_dep"]
    assert entries == [(dufflebag_users["admin"].id, "vulnerable_dep.note_created", {"id": note["id"]})]


def test_an_invalid_configuration_keeps_the_running_one(dufflebag_client: Any,
                                                        dufflebag_host: Any) -> None:
    with pytest.raises(ConfigError):
        dufflebag_host.set_config("vulnerable_dep", {"greeting": ""})
    assert dufflebag_client.get(HELLO).json() == {"message": "Hello from rogue_vulnerable_dep"}


def test_missing_settings_take_their_defaults() -> None:
    ext = Rogue()
    ext.apply_config({})
    assert ext.settings == dict(DEFAULT_CONFIG)


def test_slugs_and_the_table(dufflebag_client: Any, dufflebag_users: Any) -> None:
    note = dufflebag_client.post(NOTES, json={"text": "Héllo, World!"}, as_role="user").json()
    assert note["slug"] == "hello-world"
    table = dufflebag_client.get(NOTES, as_role="user").json()["table"]
    lines = table.splitlines()
    assert lines[0].split() == ["note", "author"]
    assert lines[2].split() == ["Héllo,", "World!", str(dufflebag_users["user"].id)]
