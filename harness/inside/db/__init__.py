"""Database backends for the reference host: isolation and migrations."""

from __future__ import annotations

from dufflebag_harness.inside.db._api import (
    AppliedMigration,
    DatabaseProvider,
    ExtensionDatabase,
    MigrationError,
)
from dufflebag_harness.inside.db._errors import StatementTimeout
from dufflebag_harness.inside.db.postgres import PgAdmin, PostgresProvider
from dufflebag_harness.inside.db.sqlite import SqliteProvider

__all__ = [
    "AppliedMigration",
    "DatabaseProvider",
    "ExtensionDatabase",
    "MigrationError",
    "PgAdmin",
    "PostgresProvider",
    "SqliteProvider",
    "StatementTimeout",
]
