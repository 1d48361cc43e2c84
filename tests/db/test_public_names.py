"""The public names of ``dufflebag_harness.inside.db`` are pinned: removing one is a
breaking change."""

from __future__ import annotations

import dufflebag_harness.inside.db
import dufflebag_harness.inside.db.migrations
import dufflebag_harness.inside.db.postgres
import dufflebag_harness.inside.db.sqlite


def test_public_names_are_pinned() -> None:
    assert sorted(dufflebag_harness.inside.db.__all__) == [
        "AppliedMigration",
        "DatabaseProvider",
        "ExtensionDatabase",
        "MigrationError",
        "PgAdmin",
        "PostgresProvider",
        "SqliteProvider",
        "StatementTimeout",
    ]
    assert sorted(dufflebag_harness.inside.db.migrations.__all__) == [
        "TRACKING_TABLE",
        "applied",
        "checksum",
        "downgrade",
        "migrate",
        "validate",
    ]
    assert sorted(dufflebag_harness.inside.db.sqlite.__all__) == [
        "SqliteProvider", "describe_isolation"]
    assert sorted(dufflebag_harness.inside.db.postgres.__all__) == [
        "PgAdmin",
        "PostgresProvider",
        "describe_isolation",
    ]
    db = dufflebag_harness.inside.db
    for module in (db, db.migrations, db.sqlite, db.postgres):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_providers_satisfy_the_protocol() -> None:
    db = dufflebag_harness.inside.db
    provider: db.DatabaseProvider = db.SqliteProvider()
    try:
        db: dufflebag_harness.inside.db.ExtensionDatabase = provider.for_extension("alpha")
        assert db.schema == "ext_alpha"
    finally:
        provider.close()
