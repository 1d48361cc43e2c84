"""Database backends for the reference host: isolation and migrations."""

from __future__ import annotations

from harness.db._api import (
    AppliedMigration,
    DatabaseProvider,
    ExtensionDatabase,
    MigrationError,
)
from harness.db._errors import StatementTimeout
from harness.db.postgres import PgAdmin, PostgresProvider
from harness.db.sqlite import SqliteProvider

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
