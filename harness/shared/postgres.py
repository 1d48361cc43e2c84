"""Server-side SQL the PostgreSQL paths share: throw-away databases and login roles.

Two callers create the same objects: :class:`~dufflebag_harness.inside.db.PostgresProvider`
(in-process, for the authors' pytest plugin and our tests) and the parent-side
:class:`~dufflebag_harness.outside.postgres.databases.PgProvisioner` (certification: the worker
gets only the roles' credentials). The isolating statements live here once,
so the two cannot drift apart.

Everything runs as the admin role of :class:`PgAdmin` over short autocommit
connections; identifiers and literals go through :mod:`psycopg.sql`, never
string formatting.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine

from dufflebag_harness.sdk import NAME_PATTERN

__all__ = [
    "ROLE_ATTRIBUTES",
    "GrantsError",
    "PgAdmin",
    "PgGrants",
    "RoleGrant",
    "create_database",
    "describe_grants",
    "drop_database",
    "grant_schema_role",
    "new_password",
    "pg_engine",
]

#: Every login role we create: it may log in and do nothing else.
ROLE_ATTRIBUTES = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
CONNECT_TIMEOUT_S = 10


class _ServerFacts(Protocol):
    """What a provisioned server exposes
    (``dufflebag_harness.outside.postgres.PgServer`` has these)."""

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
        """The admin of a provisioned server (e.g. the result of
        ``dufflebag_harness.outside.postgres.provision()``).

        Duck-typed, because shared code imports neither side.
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


class GrantsError(ValueError):
    """A ``database`` argument is not a valid set of PostgreSQL grants; says which field."""


@dataclass(frozen=True)
class RoleGrant:
    """One login role: it owns ``schema`` and may open ``connections`` sessions."""

    user: str
    password: str = field(repr=False)
    schema: str
    connections: int

    def to_args(self) -> dict[str, Any]:
        return {"user": self.user, "password": self.password, "schema": self.schema,
                "connections": self.connections}

    @classmethod
    def from_args(cls, data: Any, where: str) -> RoleGrant:
        if not isinstance(data, Mapping):
            raise GrantsError(f"{where}: expected an object with user, password, schema")
        user = _text(data, "user", where)
        password = _text(data, "password", where)
        schema = _text(data, "schema", where)
        connections = data.get("connections", 5)
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:
            raise GrantsError(f"{where}.connections: must be an integer >= 1")
        return cls(user, password, schema, connections)


@dataclass(frozen=True)
class PgGrants:
    """A throw-away database and the non-superuser logins for it (no admin password)."""

    host: str
    port: int
    dbname: str
    core: RoleGrant
    extensions: Mapping[str, RoleGrant]
    statement_timeout_s: float

    @property
    def key(self) -> str:
        """Names this database in probes and releases (the database name is unique)."""
        return self.dbname

    def roles(self) -> list[str]:
        return [self.core.user, *(g.user for g in self.extensions.values())]

    def to_args(self) -> dict[str, Any]:
        """The JSON the parent sends the worker (see the module docstring)."""
        return {
            "backend": "postgresql",
            "key": self.key,
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "statement_timeout_s": self.statement_timeout_s,
            "core": self.core.to_args(),
            "extensions": {n: g.to_args() for n, g in self.extensions.items()},
        }

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> PgGrants:
        """Parse and check the wire shape; :class:`GrantsError` names the bad field."""
        where = "database"
        if args.get("backend") != "postgresql":
            raise GrantsError(f"{where}.backend: expected 'postgresql'")
        host = _text(args, "host", where)
        dbname = _text(args, "dbname", where)
        port = args.get("port")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise GrantsError(f"{where}.port: must be a TCP port number")
        timeout = args.get("statement_timeout_s", 5.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise GrantsError(f"{where}.statement_timeout_s: must be a positive number")
        core = RoleGrant.from_args(args.get("core"), f"{where}.core")
        raw = args.get("extensions") or {}
        if not isinstance(raw, Mapping):
            raise GrantsError(f"{where}.extensions: expected an object name -> grant")
        extensions: dict[str, RoleGrant] = {}
        for name, grant in raw.items():
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                raise GrantsError(f"{where}.extensions: {name!r} is not an extension name")
            extensions[name] = RoleGrant.from_args(grant, f"{where}.extensions.{name}")
        return cls(host, port, dbname, core, extensions, float(timeout))


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise GrantsError(f"{where}.{key}: must be a non-empty string")
    return value


def describe_grants() -> str:
    """What a worker holding these grants can and cannot do, in plain words."""
    return (
        "PostgreSQL (grants only): the worker connects to one throw-away database with "
        "non-superuser logins made by the parent: `core` (owns schema core, the host's "
        "tables) and one per extension (owns ext_{name}, its search_path). No login may "
        "create databases, roles or temporary tables, or touch schema public; the admin "
        "password stays in the parent, which also drops the database and the roles."
    )
