"""Migrations behave the same on both backends: tracked, atomic, reversible, drift-proof."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import pytest

from dufflebag_harness.inside.db import ExtensionDatabase, MigrationError
from dufflebag_harness.sdk import Migration

from ._helpers import Ext, host_rows, host_tables

M1 = Migration(
    1,
    "notes table",
    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n"
    "INSERT INTO notes (id, body) VALUES (1, 'first; with a semicolon');\n",
    "DROP TABLE notes;",
)
M2 = Migration(
    2,
    "tags table",
    "-- tags; for notes\nCREATE TABLE tags (note_id INTEGER, tag TEXT);\n"
    "INSERT INTO tags VALUES (1, 'it''s 100%');",
    "DROP TABLE tags",
)
M3 = Migration(3, "index", "CREATE INDEX tags_by_tag ON tags (tag)", "DROP INDEX tags_by_tag")


def _versions(db: ExtensionDatabase) -> list[int]:
    return [a.version for a in db.applied()]


def test_migrations_apply_in_order_and_are_tracked(ext: Ext) -> None:
    provider, db = ext
    assert db.applied() == []
    assert db.migrate([M1, M2]) == [1, 2]

    assert host_tables(provider, db.schema) == {"ext_migrations", "notes", "tags"}
    assert host_rows(provider, f"SELECT body FROM {db.schema}.notes") == [
        ("first; with a semicolon",)
    ]
    assert host_rows(provider, f"SELECT tag FROM {db.schema}.tags") == [("it's 100%",)]
    applied = db.applied()
    assert [(a.version, a.description) for a in applied] == [(1, "notes table"), (2, "tags table")]
    for record, migration in zip(applied, (M1, M2), strict=True):
        digest = hashlib.sha256(migration.up.encode("utf-8")).hexdigest()
        assert record.checksum == f"sha256:{digest}"
        assert datetime.fromisoformat(record.applied_at).tzinfo is not None


def test_rerunning_is_a_no_op_and_new_migrations_apply_alone(ext: Ext) -> None:
    provider, db = ext
    db.migrate([M1, M2])
    before = db.applied()
    assert db.migrate([M1, M2]) == []
    assert db.applied() == before
    assert host_rows(provider, f"SELECT count(*) FROM {db.schema}.notes") == [(1,)]
    assert db.migrate([M1, M2, M3]) == [3]
    assert _versions(db) == [1, 2, 3]


def test_a_failing_migration_rolls_back_completely_and_earlier_ones_stay(ext: Ext) -> None:
    provider, db = ext
    broken = Migration(
        2,
        "half done",
        "CREATE TABLE partial (x INTEGER);\n"
        "INSERT INTO partial VALUES (1);\n"
        "INSERT INTO missing_table VALUES (1);",
    )
    with pytest.raises(MigrationError) as caught:
        db.migrate([M1, broken, M3])
    error = caught.value
    assert error.version == 2
    message = str(error)
    assert "statement 3" in message and "line 3" in message
    assert "missing_table" in message  # the database's own message is kept

    assert _versions(db) == [1]
    assert host_tables(provider, db.schema) == {"ext_migrations", "notes"}


def test_a_migration_reaching_outside_its_schema_fails_and_leaves_nothing(ext: Ext) -> None:
    provider, db = ext
    sneaky = Migration(1, "sneaky", "CREATE TABLE mine (x INTEGER); DROP TABLE core.users;")
    with pytest.raises(MigrationError) as caught:
        db.migrate([sneaky])
    assert caught.value.version == 1
    assert db.applied() == []
    assert host_tables(provider, db.schema) == {"ext_migrations"}


def test_up_down_up_round_trips(ext: Ext) -> None:
    provider, db = ext
    db.migrate([M1, M2, M3])
    assert db.downgrade([M1, M2, M3], 1) == [3, 2]
    assert _versions(db) == [1]
    assert host_tables(provider, db.schema) == {"ext_migrations", "notes"}

    assert db.downgrade([M1, M2, M3], 0) == [1]
    assert db.applied() == []
    assert host_tables(provider, db.schema) == {"ext_migrations"}

    assert db.migrate([M1, M2, M3]) == [1, 2, 3]
    assert host_rows(provider, f"SELECT tag FROM {db.schema}.tags") == [("it's 100%",)]


def test_a_failing_down_rolls_back_and_stays_applied(ext: Ext) -> None:
    provider, db = ext
    bad_down = Migration(2, "tags table", M2.up, "DROP TABLE tags; DROP TABLE not_there;")
    db.migrate([M1, bad_down])
    with pytest.raises(MigrationError) as caught:
        db.downgrade([M1, bad_down], 0)
    assert caught.value.version == 2
    assert _versions(db) == [1, 2]
    assert host_tables(provider, db.schema) == {"ext_migrations", "notes", "tags"}


def test_downgrade_without_a_down_script_is_refused_before_anything_runs(ext: Ext) -> None:
    _provider, db = ext
    one_way = Migration(2, "one way", "CREATE TABLE one_way (x INTEGER)")
    db.migrate([M1, one_way])
    with pytest.raises(MigrationError, match="no down script") as caught:
        db.downgrade([M1, one_way], 0)
    assert caught.value.version == 2
    assert _versions(db) == [1, 2]


def test_an_edited_applied_migration_is_refused_before_anything_runs(ext: Ext) -> None:
    provider, db = ext
    db.migrate([M1])
    edited = Migration(1, M1.description, M1.up.replace("first", "FIRST"), M1.down)
    with pytest.raises(MigrationError, match="edited") as caught:
        db.migrate([edited, M2])
    assert caught.value.version == 1
    assert _versions(db) == [1]
    assert "tags" not in host_tables(provider, db.schema)
    with pytest.raises(MigrationError, match="edited"):
        db.downgrade([edited], 0)
    assert _versions(db) == [1]


def test_a_new_description_alone_is_not_drift(ext: Ext) -> None:
    _provider, db = ext
    db.migrate([M1])
    renamed = Migration(1, "notes, renamed", M1.up, M1.down)
    assert db.migrate([renamed, M2]) == [2]


@pytest.mark.parametrize(
    ("migrations", "where"),
    [
        ([M2, M1], "migrations[1]"),
        ([M1, M1], "migrations[1]"),
        ([Migration(0, "zero", "SELECT 1")], "migrations[0]"),
        ([M1, Migration(2, "blank", "  \n")], "migrations[1]"),
    ],
    ids=["descending", "duplicate", "zero", "empty-up"],
)
def test_malformed_lists_are_refused_naming_the_entry(
    ext: Ext, migrations: list[Migration], where: str
) -> None:
    provider, db = ext
    with pytest.raises(MigrationError, match="^" + re.escape(where)):
        db.migrate(migrations)
    assert db.applied() == []
    assert host_tables(provider, db.schema) == set()


def test_history_that_the_extension_no_longer_ships_is_refused(ext: Ext) -> None:
    _provider, db = ext
    db.migrate([M1, M2])
    with pytest.raises(MigrationError, match="not among the migrations given") as caught:
        db.migrate([M1])
    assert caught.value.version == 2
    assert _versions(db) == [1, 2]


def test_a_pending_migration_older_than_the_newest_applied_is_refused(ext: Ext) -> None:
    provider, db = ext
    later = Migration(3, "later", "CREATE TABLE later (x INTEGER)")
    db.migrate([M1, later])
    with pytest.raises(MigrationError, match="3 is already applied") as caught:
        db.migrate([M1, M2, later])
    assert caught.value.version == 2
    assert _versions(db) == [1, 3]
    assert "tags" not in host_tables(provider, db.schema)


def test_transaction_control_in_a_script_is_refused_before_anything_runs(ext: Ext) -> None:
    provider, db = ext
    script = "BEGIN;\nCREATE TABLE t (x INTEGER);\nCOMMIT;"
    with pytest.raises(MigrationError, match="line 1: BEGIN is not allowed"):
        db.migrate([Migration(1, "own transaction", script)])
    assert db.applied() == []
    assert "t" not in host_tables(provider, db.schema)
