"""The public names of ``harness.db`` are pinned: removing one is a breaking change."""

from __future__ import annotations

import harness.db
import harness.db.migrations
import harness.db.postgres
import harness.db.sqlite


def test_public_names_are_pinned() -> None:
    assert sorted(harness.db.__all__) == [
        "AppliedMigration",
        "DatabaseProvider",
        "ExtensionDatabase",
        "MigrationError",
        "PgAdmin",
        "PostgresProvider",
        "SqliteProvider",
        "StatementTimeout",
    ]
    assert sorted(harness.db.migrations.__all__) == [
        "TRACKING_TABLE",
        "applied",
        "checksum",
        "downgrade",
        "migrate",
        "validate",
    ]
    assert sorted(harness.db.sqlite.__all__) == ["SqliteProvider", "describe_isolation"]
    assert sorted(harness.db.postgres.__all__) == [
        "PgAdmin",
        "PostgresProvider",
        "describe_isolation",
    ]
    for module in (harness.db, harness.db.migrations, harness.db.sqlite, harness.db.postgres):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_providers_satisfy_the_protocol() -> None:
    provider: harness.db.DatabaseProvider = harness.db.SqliteProvider()
    try:
        db: harness.db.ExtensionDatabase = provider.for_extension("alpha")
        assert db.schema == "ext_alpha"
    finally:
        provider.close()
