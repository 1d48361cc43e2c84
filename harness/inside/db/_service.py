"""One extension's database as the SDK sees it, shared by both backends.

The providers differ in how they isolate (an authorizer on SQLite, roles and
grants on PostgreSQL) but not in what the extension gets: the same async
``fetch_all``/``execute`` running in a worker thread, the same migration
runner, and the database's refusals surfacing as the SDK's
:class:`~dufflebag_harness.sdk.DatabaseAccessError` (the database's own message kept),
so extension code and checks do not branch on the backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dufflebag_harness.inside.db import migrations as _migrations
from dufflebag_harness.inside.db._api import AppliedMigration
from dufflebag_harness.sdk import Migration

__all__ = ["ErrorTranslator", "IsolatedDatabase"]

ErrorTranslator = Callable[[BaseException], Exception | None]
"""Maps a DBAPI exception to the error the extension should see (``None``: keep it)."""


class IsolatedDatabase:
    """Implements :class:`~dufflebag_harness.inside.db.ExtensionDatabase` over an
    already-isolated engine."""

    def __init__(
        self,
        *,
        backend: str,
        schema: str,
        engine: Engine,
        translate: ErrorTranslator,
        on_dispose: Callable[[], None] | None = None,
    ) -> None:
        self._backend = backend
        self._schema = schema
        self._engine = engine
        self._translate = translate
        self._on_dispose = on_dispose
        self._disposed = False

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def schema(self) -> str:
        return self._schema

    @property
    def engine(self) -> Engine:
        return self._engine

    async def fetch_all(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run one statement in its own transaction; return its rows as dicts.

        Cancelling the caller (the host's request timeout) does not wait for
        the statement: it keeps its thread and connection until it ends or
        the statement timeout stops it, while the request is answered at once.
        """
        return await anyio.to_thread.run_sync(
            self._fetch_all, sql, dict(params or {}), abandon_on_cancel=True
        )

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        """Run one statement in its own transaction; return the rows it affected.

        Statements that affect no rows (DDL) return 0 on both backends. A
        cancelled caller does not wait (see :meth:`fetch_all`): the statement
        may still commit after the request was answered.
        """
        return await anyio.to_thread.run_sync(
            self._execute, sql, dict(params or {}), abandon_on_cancel=True
        )

    def migrate(self, migrations: Sequence[Migration]) -> list[int]:
        with self._translated():
            return _migrations.migrate(self._engine, migrations)

    def downgrade(self, migrations: Sequence[Migration], to_version: int) -> list[int]:
        with self._translated():
            return _migrations.downgrade(self._engine, migrations, to_version)

    def applied(self) -> list[AppliedMigration]:
        with self._translated():
            return _migrations.applied(self._engine)

    def dispose(self) -> None:
        """Close the pool; idempotent. The schema and its data stay with the provider."""
        if self._disposed:
            return
        self._disposed = True
        self._engine.dispose()
        if self._on_dispose is not None:
            self._on_dispose()

    def _fetch_all(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._translated(), self._engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            if not result.returns_rows:
                return []
            return [dict(row._mapping) for row in result]

    def _execute(self, sql: str, params: dict[str, Any]) -> int:
        with self._translated(), self._engine.begin() as conn:
            result = conn.execute(sa.text(sql), params)
            return max(result.rowcount, 0)

    @contextmanager
    def _translated(self) -> Iterator[None]:
        if self._disposed:
            raise RuntimeError(f"the database of schema {self._schema} was disposed")
        try:
            yield
        except sa.exc.DBAPIError as exc:
            mapped = self._translate(exc.orig if exc.orig is not None else exc)
            if mapped is None:
                raise
            raise mapped from exc
