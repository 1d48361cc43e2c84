"""What the host needs from a database backend (version 0).

A *provider* owns one database for one host: the host's own ``core`` tables
plus one isolated schema per extension. SQLite and PostgreSQL implement the
same protocol, so PostgreSQL is a second backend, not a rewrite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.engine import Engine

from dufflebag_harness.sdk import DatabaseService, Migration


class MigrationError(Exception):
    """A migration failed (rolled back) or an applied one was edited (drift).

    ``version`` names the migration; nothing of it is left applied.
    """

    def __init__(self, message: str, *, version: int | None = None) -> None:
        super().__init__(message)
        self.version = version


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    description: str
    checksum: str
    applied_at: str


class ExtensionDatabase(DatabaseService, Protocol):
    """One extension's isolated schema: the SDK service plus migration control."""

    def migrate(self, migrations: Sequence[Migration]) -> list[int]:
        """Apply pending migrations in order, each in its own transaction.

        Returns the versions applied now (empty when up to date: re-running is a
        no-op). Raises :class:`MigrationError` on failure (that migration rolled
        back, earlier ones stay) or on checksum drift of an applied migration.
        """
        ...

    def downgrade(self, migrations: Sequence[Migration], to_version: int) -> list[int]:
        """Run ``down`` of applied migrations above ``to_version``, newest first."""
        ...

    def applied(self) -> list[AppliedMigration]: ...

    def dispose(self) -> None:
        """Close every connection this extension holds (pool disposed)."""
        ...


class DatabaseProvider(Protocol):
    """One database for one host."""

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    def core_engine(self) -> Engine:
        """The host's own engine (schema ``core``: users, audit log)."""
        ...

    def for_extension(self, name: str, *, pool_size: int = 5) -> ExtensionDatabase:
        """Create (once) and return the isolated database of extension ``name``."""
        ...

    def close(self) -> None:
        """Dispose every engine; drop what this provider created."""
        ...


def check_request(name: object, pool_size: object) -> None:
    """Refuse a malformed ``for_extension`` request before any backend acts on it."""
    from dufflebag_harness.sdk import NAME_PATTERN

    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"extension name {name!r} must match {NAME_PATTERN.pattern}")
    if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
        raise ValueError(f"pool_size for extension {name!r} must be an integer >= 1")
