"""Server-side SQL the PostgreSQL paths share: throw-away databases and login roles.

Two callers create the same objects: :class:`~harness.db.PostgresProvider`
(in-process, for the authors' pytest plugin and our tests) and the parent-side
:class:`~harness.db.pg_provision.PgProvisioner` (certification: the worker
gets only the roles' credentials). The isolating statements live here once,
so the two cannot drift apart.

Everything runs as the admin role of :class:`PgAdmin` over short autocommit
connections; identifiers and literals go through :mod:`psycopg.sql`, never
string formatting.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine

from harness.db._errors import StatementTimeout
from harness.db._service import ErrorTranslator
from harness.sdk import DatabaseAccessError

__all__ = [
    "ROLE_ATTRIBUTES",
    "PgAdmin",
    "create_database",
    "drop_database",
    "grant_schema_role",
    "new_password",
    "pg_engine",
    "translator",
]

#: Every login role we create: it may log in and do nothing else.
ROLE_ATTRIBUTES = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
CONNECT_TIMEOUT_S = 10


class _ServerFacts(Protocol):
    """What a provisioned server exposes (``harness.pg.PgServer`` has these)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> str: ...
    @property
    def dbname(self) -> str: ...


@dataclass(frozen=True)
class PgAdmin:
    """How to reach a PostgreSQL server as a role that may create databases and roles.

    ``host`` is a host name or, for a unix socket, the socket's directory.
    """

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str = "postgres"

    @classmethod
    def of(cls, server: _ServerFacts) -> PgAdmin:
        """The admin of a provisioned server (e.g. ``harness.pg.provision()``'s result).

        Duck-typed, because ``harness.db`` does not import ``harness.pg``.
        """
        return cls(server.host, server.port, server.user, server.password, server.dbname)

    def connect_args(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``psycopg.connect`` (no URL: nothing to escape)."""
        args: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
            "connect_timeout": CONNECT_TIMEOUT_S,
        }
        args.update(overrides)
        return args

    def connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        """An autocommit admin connection (to ``dbname``, else the admin database)."""
        args = self.connect_args(**({"dbname": dbname} if dbname else {}))
        return psycopg.connect(autocommit=True, **args)


def new_password() -> str:
    """A random password for one throw-away role (never logged, never reused)."""
    return secrets.token_urlsafe(24)


def create_database(admin: PgAdmin, dbname: str, *, comment: str | None = None) -> None:
    """Create ``dbname`` with nothing granted to ``PUBLIC`` (no CONNECT, TEMP, public schema).

    ``comment`` is stored on the database (who made it, for a later clean-up).
    On failure after the ``CREATE``, the database is dropped again.
    """
    db = sql.Identifier(dbname)
    with admin.connect() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(db))
    try:
        with admin.connect(dbname) as conn, conn.transaction():
            conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
            conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            if comment is not None:
                conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    db, sql.Literal(comment)))
    except BaseException:
        drop_database(admin, dbname, ())
        raise


def grant_schema_role(
    conn: psycopg.Connection[Any],
    *,
    dbname: str,
    role: str,
    schema: str,
    password: str,
    connection_limit: int,
    statement_timeout_ms: int,
) -> None:
    """Create login ``role`` owning ``schema`` (its search_path) in ``dbname``.

    Runs on ``conn`` (an admin connection to ``dbname``) inside the caller's
    transaction, so a failure leaves neither the role nor the schema behind.
    The role has no privilege anywhere else: the database refuses the rest.
    """
    r, s, db = sql.Identifier(role), sql.Identifier(schema), sql.Identifier(dbname)
    statements = [
        sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} " + ROLE_ATTRIBUTES + " CONNECTION LIMIT {}")
        .format(r, sql.Literal(password), sql.Literal(connection_limit)),
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, r),
        sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(s, r),
        sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(r, db, s),
        sql.SQL("ALTER ROLE {} IN DATABASE {} SET statement_timeout = {}").format(
            r, db, sql.Literal(f"{statement_timeout_ms}ms")
        ),
    ]
    for statement in statements:
        conn.execute(statement)


def drop_database(admin: PgAdmin, dbname: str, roles: Iterable[str]) -> None:
    """Drop ``dbname`` (ending its sessions first), then ``roles``; missing ones are fine."""
    with admin.connect() as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(dbname)))
        for role in roles:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def pg_engine(
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    dbname: str,
    pool_size: int,
    pool_timeout: float,
    **connect: Any,
) -> Engine:
    """A SQLAlchemy engine over psycopg, connecting with exactly these credentials."""
    args: dict[str, Any] = {
        "host": host,
        "port": port,
        "user": user,
        "password": password,
        "dbname": dbname,
        "connect_timeout": CONNECT_TIMEOUT_S,
        **connect,
    }
    return sa.create_engine(
        "postgresql+psycopg://",
        connect_args=args,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
    )


def translator(schema: str) -> ErrorTranslator:
    """Map PostgreSQL's refusals to the SDK's errors, keeping the server's message."""

    def translate(exc: BaseException) -> Exception | None:
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return DatabaseAccessError(f"{schema}: {_message(exc)}")
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
            return StatementTimeout(f"{schema}: {_message(exc)}")
        return None

    return translate


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split())
