"""Parent-side backends: which are available, and what each host gets.

The parent owns database servers (it provisions PostgreSQL and holds its
admin credentials); a worker only receives what one host needs. Version 0
knows SQLite; PostgreSQL plugs in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class Backends:
    """Backends for one certification run."""

    def __init__(self, *, pg_dsn: str | None = None, require_postgres: bool = False) -> None:
        self.pg_dsn = pg_dsn
        self.require_postgres = require_postgres
        self._unavailable: dict[str, str] = {
            "postgresql": "PostgreSQL backend: not wired into this harness version",
        }

    def prepare(self, needed: set[str]) -> None:
        """Start what the planned pairs need (called once per run)."""

    def unavailable(self) -> dict[str, str]:
        """Backend → reason it cannot be used in this run."""
        return dict(self._unavailable)

    def host_database(self, backend: str, extensions: Sequence[str]) -> dict[str, Any]:
        """The ``database`` argument for a fresh host on ``backend``."""
        return {"backend": "sqlite" if backend == "mock" else backend}

    def release(self, database: dict[str, Any]) -> None:
        """Drop what :meth:`host_database` created, once the host has stopped."""

    def environment(self) -> dict[str, Any] | None:
        """``{version, provider}`` of PostgreSQL for the report, or None."""
        return None

    def close(self) -> None:
        """Stop every server this run started."""


class BackendUnavailable(Exception):
    """A backend the run needs is required (DUFFLEBAG_REQUIRE_POSTGRES=1) but missing."""
