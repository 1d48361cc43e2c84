"""Database backends for the reference host: isolation and migrations."""

from __future__ import annotations

from harness.db._api import (
    AppliedMigration,
    DatabaseProvider,
    ExtensionDatabase,
    MigrationError,
)

__all__ = ["AppliedMigration", "DatabaseProvider", "ExtensionDatabase", "MigrationError"]
