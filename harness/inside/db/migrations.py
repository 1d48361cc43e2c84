"""The migration runner both backends share.

Why ours rather than Alembic: extensions ship plain SQL in
``Migration(version, description, up, down)`` — no Python revision scripts, no
autogenerate — and we need what Alembic does not give as one piece: tracking
*per schema* (each extension's ``ext_migrations`` table lives in its own
schema and is written with the extension's own, restricted connection),
refusal of checksum drift (an applied migration whose ``up`` was edited) and
exactly the same semantics on SQLite and PostgreSQL. That is a few hundred
lines, which is less than adapting Alembic's environment and version table to
it.

Semantics:

* versions are integers, unique and strictly ascending in the order given;
* every migration runs in its own transaction together with its tracking row
  (SQLite and PostgreSQL both have transactional DDL; the providers' engines
  emit ``BEGIN`` themselves so pysqlite does not auto-commit DDL); a failure
  rolls that migration back completely, earlier ones stay applied, and
  :class:`~dufflebag_harness.inside.db.MigrationError` names the version and carries the
  database's own message;
* re-running is a no-op; an applied migration whose ``up`` text changed
  (sha256) is refused before anything runs, as is an applied version the
  extension no longer ships or a pending one older than the newest applied;
* ``downgrade`` runs ``down`` newest-first, each in its own transaction that
  also removes the tracking row;
* scripts are split into statements by a small lexer that respects quotes,
  comments, dollar quotes and trigger bodies (see ``_sqlscript``), so a
  statement is never cut at a ``;`` inside a string; statements that would
  begin or end a transaction are refused, because the transaction is ours.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dufflebag_harness.inside.db._api import AppliedMigration, MigrationError
from dufflebag_harness.inside.db._sqlscript import (
    ScriptError,
    Statement,
    split_statements,
    transaction_control,
)
from dufflebag_harness.sdk import Migration

__all__ = [
    "TRACKING_TABLE",
    "applied",
    "checksum",
    "downgrade",
    "migrate",
    "validate",
]

TRACKING_TABLE = "ext_migrations"
"""Tracking table, created unqualified: it lands in the extension's own schema."""

_MAX_VERSION = 2**63 - 1
_CREATE_TRACKING = (
    f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} ("
    "version BIGINT PRIMARY KEY, description TEXT NOT NULL, "
    "checksum TEXT NOT NULL, applied_at TEXT NOT NULL)"
)
_SELECT_APPLIED = sa.text(
    f"SELECT version, description, checksum, applied_at FROM {TRACKING_TABLE} ORDER BY version"
)
_INSERT_APPLIED = sa.text(
    f"INSERT INTO {TRACKING_TABLE} (version, description, checksum, applied_at) "
    "VALUES (:version, :description, :checksum, :applied_at)"
)
_DELETE_APPLIED = sa.text(f"DELETE FROM {TRACKING_TABLE} WHERE version = :version")


def checksum(migration: Migration) -> str:
    """``sha256:`` of the ``up`` script's UTF-8 bytes (what drift is judged on)."""
    return "sha256:" + hashlib.sha256(migration.up.encode("utf-8")).hexdigest()


def validate(migrations: Sequence[Migration]) -> None:
    """Refuse malformed lists: types, versions unique and strictly ascending."""
    previous: int | None = None
    for index, m in enumerate(migrations):
        where = f"migrations[{index}]"
        if not isinstance(m, Migration):
            raise MigrationError(f"{where}: expected a Migration, got {type(m).__name__}")
        v = m.version
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= _MAX_VERSION:
            raise MigrationError(f"{where}: version must be an integer >= 1, got {v!r}")
        if not isinstance(m.up, str) or not isinstance(m.down, str):
            raise MigrationError(f"{where} (version {v}): up and down must be SQL text", version=v)
        if not m.up.strip():
            raise MigrationError(f"{where} (version {v}): up is empty", version=v)
        if previous is not None and v <= previous:
            kind = "duplicate" if v == previous else "out of order"
            raise MigrationError(
                f"{where}: version {v} is {kind}; versions must be unique and ascending "
                f"(previous is {previous})",
                version=v,
            )
        previous = v


def applied(engine: Engine) -> list[AppliedMigration]:
    """Applied migrations, oldest first (empty when nothing was ever migrated)."""
    with engine.connect() as conn:
        return _applied(conn)


def migrate(engine: Engine, migrations: Sequence[Migration]) -> list[int]:
    """Apply the pending ``migrations``; return the versions applied now."""
    validate(migrations)
    with engine.begin() as conn:
        conn.exec_driver_sql(_CREATE_TRACKING)
        done = {a.version: a for a in _applied(conn)}
    _refuse_drift(migrations, done)
    pending = [m for m in migrations if m.version not in done]
    newest = max(done, default=0)
    for m in pending:
        if m.version < newest:
            raise MigrationError(
                f"migration {m.version} ({m.description}) is pending but the newer "
                f"migration {newest} is already applied",
                version=m.version,
            )
    return _apply(engine, pending, "up")


def downgrade(engine: Engine, migrations: Sequence[Migration], to_version: int) -> list[int]:
    """Revert applied migrations above ``to_version``, newest first; return them."""
    validate(migrations)
    if isinstance(to_version, bool) or not isinstance(to_version, int) or to_version < 0:
        raise MigrationError(f"to_version must be an integer >= 0, got {to_version!r}")
    with engine.connect() as conn:
        done = {a.version: a for a in _applied(conn)}
    _refuse_drift(migrations, done)
    by_version = {m.version: m for m in migrations}
    revert = [by_version[v] for v in sorted(done, reverse=True) if v > to_version]
    for m in revert:
        if not m.down.strip():
            raise MigrationError(
                f"migration {m.version} ({m.description}) has no down script; "
                f"cannot downgrade below it",
                version=m.version,
            )
    return _apply(engine, revert, "down")


def _apply(engine: Engine, selected: Sequence[Migration], which: str) -> list[int]:
    """Run the ``which`` (``up``/``down``) script of each of ``selected`` in order, each
    in its own transaction; every script is checked before the first one runs."""
    dialect = engine.dialect.name
    scripts = [(m, _statements(m, m.up if which == "up" else m.down, which, dialect))
               for m in selected]
    for m, statements in scripts:
        with engine.connect() as conn:
            _run(conn, m, statements, which)
    return [m.version for m in selected]


def _applied(conn: Connection) -> list[AppliedMigration]:
    if not sa.inspect(conn).has_table(TRACKING_TABLE):
        return []
    rows = conn.execute(_SELECT_APPLIED).all()
    return [AppliedMigration(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]


def _refuse_drift(migrations: Sequence[Migration], done: dict[int, AppliedMigration]) -> None:
    by_version = {m.version: m for m in migrations}
    for version, row in sorted(done.items()):
        m = by_version.get(version)
        if m is None:
            raise MigrationError(
                f"migration {version} ({row.description}) is applied but not among the "
                f"migrations given",
                version=version,
            )
        if checksum(m) != row.checksum:
            raise MigrationError(
                f"migration {version} ({m.description}) was edited after it was applied "
                f"(checksum {checksum(m)} differs from the applied {row.checksum}); "
                f"ship a new migration instead",
                version=version,
            )


def _statements(m: Migration, script: str, which: str, dialect: str) -> list[Statement]:
    try:
        statements = split_statements(script, dialect)
    except ScriptError as exc:
        raise MigrationError(
            f"migration {m.version} ({m.description}) {which}: {exc}", version=m.version
        ) from exc
    for s in statements:
        if transaction_control(s):
            raise MigrationError(
                f"migration {m.version} ({m.description}) {which}: line {s.line}: "
                f"{s.words[0]} is not allowed; each migration already runs in its own "
                f"transaction",
                version=m.version,
            )
    return statements


def _run(conn: Connection, m: Migration, statements: list[Statement], which: str) -> None:
    """Run one migration's statements and its tracking change in one transaction.

    The statements go to the DBAPI cursor without parameters, so neither
    driver looks for placeholders in them (psycopg would read ``'x%'`` as one).
    """
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    number = 0
    try:
        with conn.begin():
            cursor = conn.connection.cursor()
            try:
                for index, s in enumerate(statements, start=1):
                    number = index
                    cursor.execute(s.sql)
            finally:
                cursor.close()
            number = 0
            if which == "up":
                conn.execute(
                    _INSERT_APPLIED,
                    {
                        "version": m.version,
                        "description": m.description,
                        "checksum": checksum(m),
                        "applied_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                    },
                )
            else:
                conn.execute(_DELETE_APPLIED, {"version": m.version})
    except (sa.exc.DBAPIError, dbapi_error) as exc:
        where = f" at statement {number} (line {statements[number - 1].line})" if number else ""
        raise MigrationError(
            f"migration {m.version} ({m.description}) {which} failed{where} and was rolled "
            f"back: {_db_message(exc)}",
            version=m.version,
        ) from exc


def _db_message(exc: Exception) -> str:
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return " ".join(str(exc).split())
