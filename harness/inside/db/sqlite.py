"""In-memory SQLite backend: one database per extension, confined by the authorizer.

Layout. Every database lives in SQLite's ``memdb`` VFS under a name unique to
the provider (``file:/dufflebag-<token>-<key>?vfs=memdb``): named in-memory
databases that every connection of this process opening the same name shares,
kept alive by one *keeper* connection each. An extension's pooled connections
open its own database as ``main`` — so its unqualified SQL (``CREATE TABLE
t``, ``SELECT * FROM t``) lands there — and attach ``core`` and the other
extensions' databases (``ext_{name}``) so that reaching for them is refused by
the authorizer rather than by "no such table". The host's ``core_engine()``
opens ``core`` as ``main``, attaches the extensions' databases and has no
authorizer.

Why ``memdb`` rather than shared-cache ``:memory:`` URIs: shared cache uses
table-level locks that fail at once with "database table is locked" when two
pooled connections write concurrently (the busy timeout does not apply); in a
trial with four threads, 635 of 1,200 transactions failed. ``memdb`` uses
ordinary database locks, which wait for the busy timeout (0 failures in the
same trial).

Limits (see :func:`describe_isolation`): SQLite attaches at most 10 databases
per connection; an extension connection attaches ``core`` and the 9 oldest
other extensions, the core engine the 10 oldest extensions. A reference to a
database that is not attached fails with SQLite's "no such table: ext_x.t"
and, when it names core or another extension, is reported as
:class:`~dufflebag_harness.sdk.DatabaseAccessError` all the same.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection, QueuePool

from dufflebag_harness.inside.db._errors import StatementTimeout
from dufflebag_harness.inside.db._provider import ProviderBase
from dufflebag_harness.inside.db._service import ErrorTranslator, IsolatedDatabase
from dufflebag_harness.inside.db._sqlite_authorizer import authorize, is_denial
from dufflebag_harness.sdk import DatabaseAccessError

__all__ = ["SqliteProvider", "describe_isolation"]

_CORE = "core"
#: SQLite virtual-machine instructions between two looks at the statement's deadline.
_PROGRESS_STEPS = 1000
_MISSING_DB = re.compile(r"^(?:no such table: (\w+)\.|unknown database (\w+)$)")


def describe_isolation() -> str:
    """What the SQLite backend enforces, and what it does not, in plain words."""
    return (
        "SQLite (in memory): each extension has its own database, opened as `main` on every "
        "pooled connection of its engine (unqualified SQL lands there; its schema name "
        "`ext_{name}` is what the host sees, the extension itself writes `main.` or nothing). "
        "A sqlite3 authorizer on each of the extension's connections denies, at prepare time, "
        "every table, column and pragma access naming a database other than `main` or `temp` "
        "(core and the other extensions are attached, so such references reach it), every "
        "ATTACH and DETACH (hence also VACUUM INTO), PRAGMA database_list, pragmas that "
        "without a schema would act on every attached database, and the functions "
        "load_extension and fts3_tokenizer. Denials fail with SQLite's own message "
        "(SQLITE_AUTH) and reach the extension as DatabaseAccessError; nothing is answered "
        "with SQLITE_IGNORE. Not enforced: the boundary is SQL issued through the "
        "extension's engine; code in the same process could open a database by its name, "
        "which is why names carry a random token and are not revealed to the extension. "
        "Temporary objects (`temp`) are per connection and allowed. At most 10 databases "
        "attach per connection: past 9 other extensions, a reference to a later one fails "
        "as 'no such table', which is also reported as DatabaseAccessError. With a "
        "statement timeout, a statement still running past it is interrupted (a progress "
        "handler; reported as StatementTimeout); the extension could remove the handler "
        "from its own raw connection."
    )


class SqliteProvider(ProviderBase):
    """One in-memory SQLite database set for one host (``backend == "sqlite"``)."""

    def __init__(
        self,
        *,
        busy_timeout: float = 5.0,
        pool_timeout: float = 10.0,
        core_pool_size: int = 5,
        statement_timeout: float | None = None,
    ) -> None:
        if statement_timeout is not None and statement_timeout <= 0:
            raise ValueError("statement_timeout must be positive (seconds) or None")
        super().__init__()
        self._statement_timeout = statement_timeout
        self._token = secrets.token_hex(8)
        self._busy_timeout = busy_timeout
        self._pool_timeout = pool_timeout
        self._keepers: dict[str, sqlite3.Connection] = {}
        self._order: list[str] = []  # extension names, oldest first
        self._keepers[_CORE] = self._open(_CORE)
        self._core = self._engine(_CORE, core_pool_size, confined=False)

    @property
    def backend(self) -> str:
        return "sqlite"

    def core_engine(self) -> Engine:
        """The host's engine: ``core`` as ``main``, extensions attached as ``ext_{name}``.

        SQLite attaches at most 10 databases per connection, so only the 10
        oldest extensions are visible here as ``ext_{name}``; any extension's
        own tables can always be read through ``for_extension(name).engine``.
        """
        self._check_open()
        return self._core

    def describe_isolation(self) -> str:
        return describe_isolation()

    def _create(self, name: str, pool_size: int) -> IsolatedDatabase:
        self._keepers[name] = self._open(name)
        self._order.append(name)
        schema = f"ext_{name}"
        return IsolatedDatabase(
            backend="sqlite",
            schema=schema,
            engine=self._engine(name, pool_size, confined=True),
            translate=self._translator(schema),
        )

    def _release(self) -> None:
        """Free every in-memory database."""
        with self._lock:
            keepers = list(self._keepers.values())
        for keeper in keepers:
            keeper.close()

    # -- connections -------------------------------------------------------

    def _uri(self, key: str) -> str:
        return f"file:/dufflebag-{self._token}-{key}?vfs=memdb"

    def _open(self, key: str) -> sqlite3.Connection:
        # isolation_level=None: pysqlite must not open or commit transactions by
        # itself (it would commit before DDL); the engine's "begin" event does.
        return sqlite3.connect(
            self._uri(key),
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            timeout=self._busy_timeout,
        )

    def _engine(self, key: str, pool_size: int, *, confined: bool) -> Engine:
        def creator() -> sqlite3.Connection:
            self._check_open()
            return self._open(key)

        engine = sa.create_engine(
            "sqlite://",
            creator=creator,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=self._pool_timeout,
        )

        def on_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
            record.info["attached"] = set()
            self._attach_missing(dbapi_conn, record, key, confined)
            if self._statement_timeout is not None:
                _limit_statements(dbapi_conn, self._statement_timeout)
            if confined:
                dbapi_conn.set_authorizer(authorize)

        def on_checkout(
            dbapi_conn: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
        ) -> None:
            if len(record.info["attached"]) < len(self._attachable(key)):
                if confined:
                    dbapi_conn.set_authorizer(None)
                self._attach_missing(dbapi_conn, record, key, confined)
                if confined:
                    # A non-NULL authorizer also expires every cached statement.
                    dbapi_conn.set_authorizer(authorize)

        def on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN")

        event.listen(engine, "connect", on_connect)
        event.listen(engine, "checkout", on_checkout)
        event.listen(engine, "begin", on_begin)
        return engine

    def _attachable(self, key: str) -> list[str]:
        """Database keys a connection whose ``main`` is ``key`` attaches, in order."""
        others = [n for n in self._order if n != key]
        names = others if key == _CORE else [_CORE, *others]
        return names[: _attach_limit()]

    def _attach_missing(
        self, dbapi_conn: sqlite3.Connection, record: ConnectionPoolEntry, key: str, confined: bool
    ) -> None:
        attached: set[str] = record.info["attached"]
        with self._lock:
            wanted = [k for k in self._attachable(key) if k not in attached]
        for k in wanted:
            alias = k if k == _CORE else f"ext_{k}"
            # Bound parameter: the database's name never appears in statement text.
            dbapi_conn.execute("ATTACH DATABASE ? AS " + alias, (self._uri(k),))
            attached.add(k)

    def _translator(self, own_schema: str) -> ErrorTranslator:
        limit = self._statement_timeout

        def translate(exc: BaseException) -> Exception | None:
            if is_denial(exc):
                return DatabaseAccessError(f"{own_schema}: {exc}")
            if limit is not None and isinstance(exc, sqlite3.OperationalError) \
                    and str(exc) == "interrupted":
                return StatementTimeout(
                    f"{own_schema}: statement timeout: interrupted after running longer "
                    f"than {limit:g} s"
                )
            match = _MISSING_DB.match(str(exc)) if isinstance(exc, sqlite3.Error) else None
            if match:
                target = match.group(1) or match.group(2)
                if target == _CORE or (
                    target.startswith("ext_")
                    and target[4:] in self._extensions
                    and target != own_schema
                ):
                    return DatabaseAccessError(f"{own_schema}: {exc}")
            return None

        return translate

    def _label(self) -> str:
        return "SQLite provider"


def _limit_statements(conn: sqlite3.Connection, seconds: float) -> None:
    """Interrupt any statement of ``conn`` still running ``seconds`` after it started.

    SQLite has no statement timeout of its own: the trace callback marks
    when each statement starts, the progress handler (every
    :data:`_PROGRESS_STEPS` instructions) aborts it once the deadline passed,
    which fails it with "interrupted" and rolls its transaction back.
    """
    deadline = [0.0]

    def started(_statement: str) -> None:
        deadline[0] = time.monotonic() + seconds

    def progress() -> int:
        return 1 if deadline[0] and time.monotonic() > deadline[0] else 0

    conn.set_trace_callback(started)
    conn.set_progress_handler(progress, _PROGRESS_STEPS)


@cache
def _attach_limit() -> int:
    probe = sqlite3.connect(":memory:")
    try:
        return probe.getlimit(sqlite3.SQLITE_LIMIT_ATTACHED)
    finally:
        probe.close()
