"""PostgreSQL backend: one throw-away database per provider, one role per extension.

The database itself does the isolating. The provider creates a database with
a unique name, revokes everything ``PUBLIC`` had on it and on its ``public``
schema, and gives the host a ``core`` schema. Each extension gets a role
(``ext_{name}_{token}``: roles are cluster-wide, the per-provider token lets
parallel providers share a server) that may log in and do nothing else
(NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT, a connection limit of its
pool size plus one), owning exactly one schema, ``ext_{name}``, which is its
``search_path``. The extension's engine connects *as that role*, so a reach
into ``core`` or another extension's schema fails with PostgreSQL's own
"permission denied" (SQLSTATE 42501), reported as
:class:`~harness.sdk.DatabaseAccessError`. A per-role ``statement_timeout``
cancels runaway statements (:class:`~harness.db.StatementTimeout`).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
from psycopg import sql
from sqlalchemy.engine import Engine

from harness.db._errors import StatementTimeout
from harness.db._service import ErrorTranslator, IsolatedDatabase
from harness.sdk import NAME_PATTERN, DatabaseAccessError

__all__ = ["PgAdmin", "PostgresProvider", "describe_isolation"]


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
            "connect_timeout": 10,
        }
        args.update(overrides)
        return args


def describe_isolation() -> str:
    """What the PostgreSQL backend enforces, and what it does not, in plain words."""
    return (
        "PostgreSQL: a throw-away database per provider with CONNECT and TEMP revoked from "
        "PUBLIC and every privilege on schema public revoked. Each extension connects as its "
        "own login role (no superuser, createdb, createrole, inherit; connection limit = pool "
        "size + 1) that owns schema ext_{name} and has it as search_path; it has no privilege "
        "on schema core or on other extensions' schemas, so the server refuses such access "
        "with 'permission denied' (SQLSTATE 42501), reported as DatabaseAccessError. "
        "statement_timeout is set on the role; the server cancels longer statements "
        "(reported as StatementTimeout). Not enforced: the system catalogs stay readable, so "
        "an extension can list other schemas' table and column names (not their data); the "
        "role may raise its own statement_timeout with SET; an extension may GRANT access to "
        "its own schema to others."
    )


class PostgresProvider:
    """One throw-away PostgreSQL database for one host (``backend == "postgresql"``)."""

    def __init__(
        self,
        admin: PgAdmin,
        *,
        statement_timeout: float = 5.0,
        pool_timeout: float = 10.0,
        core_pool_size: int = 5,
    ) -> None:
        if statement_timeout <= 0:
            raise ValueError("statement_timeout must be positive (seconds)")
        self._admin = admin
        self._token = secrets.token_hex(4)
        self._dbname = f"dufflebag_{self._token}"
        self._timeout_ms = max(1, round(statement_timeout * 1000))
        self._pool_timeout = pool_timeout
        self._lock = threading.Lock()
        self._closed = False
        self._roles: list[str] = []
        self._extensions: dict[str, IsolatedDatabase] = {}
        self._create_database()
        try:
            self._core = self._engine(
                core_pool_size, options="-c search_path=core", application_name="dufflebag-core"
            )
        except BaseException:
            self._drop()
            raise

    @property
    def backend(self) -> str:
        return "postgresql"

    @property
    def database(self) -> str:
        """The name of the throw-away database (for reports and debugging)."""
        return self._dbname

    def core_engine(self) -> Engine:
        """The host's engine: the admin role, ``search_path = core``."""
        self._check_open()
        return self._core

    def describe_isolation(self) -> str:
        return describe_isolation()

    def role_for(self, name: str) -> str:
        """The cluster-wide role name extension ``name`` connects as."""
        return f"ext_{name}_{self._token}"

    def for_extension(self, name: str, *, pool_size: int = 5) -> IsolatedDatabase:
        """Create (once) the role and schema of extension ``name``; return its database."""
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(f"extension name {name!r} must match {NAME_PATTERN.pattern}")
        if isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1:
            raise ValueError(f"pool_size for extension {name!r} must be an integer >= 1")
        with self._lock:
            self._check_open()
            existing = self._extensions.get(name)
            if existing is not None:
                return existing
            role, schema = self.role_for(name), f"ext_{name}"
            password = secrets.token_urlsafe(24)
            self._create_role(role, schema, password, pool_size + 1)
            self._roles.append(role)
            engine = self._engine(
                pool_size, user=role, password=password, application_name=f"dufflebag-{schema}"
            )
            db = IsolatedDatabase(
                backend="postgresql", schema=schema, engine=engine, translate=_translator(schema)
            )
            self._extensions[name] = db
            return db

    def close(self) -> None:
        """Dispose every engine, drop the database and the roles created; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            extensions = list(self._extensions.values())
        for db in extensions:
            db.dispose()
        self._core.dispose()
        self._drop()

    # -- server side ---------------------------------------------------------

    def _admin_connect(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        args = self._admin.connect_args(**({"dbname": dbname} if dbname else {}))
        return psycopg.connect(autocommit=True, **args)

    def _create_database(self) -> None:
        db = sql.Identifier(self._dbname)
        with self._admin_connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(db))
        try:
            with self._admin_connect(self._dbname) as conn, conn.transaction():
                conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(db))
                conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                conn.execute("CREATE SCHEMA core")
        except BaseException:
            self._drop()
            raise

    def _create_role(self, role: str, schema: str, password: str, limit: int) -> None:
        r, s, db = sql.Identifier(role), sql.Identifier(schema), sql.Identifier(self._dbname)
        statements = [
            sql.SQL(
                "CREATE ROLE {} LOGIN PASSWORD {} NOSUPERUSER NOCREATEDB NOCREATEROLE "
                "NOINHERIT NOREPLICATION NOBYPASSRLS CONNECTION LIMIT {}"
            ).format(r, sql.Literal(password), sql.Literal(limit)),
            sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, r),
            sql.SQL("CREATE SCHEMA {} AUTHORIZATION {}").format(s, r),
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}").format(r, db, s),
            sql.SQL("ALTER ROLE {} IN DATABASE {} SET statement_timeout = {}").format(
                r, db, sql.Literal(f"{self._timeout_ms}ms")
            ),
        ]
        # One transaction: a failure leaves neither the role nor the schema behind.
        with self._admin_connect(self._dbname) as conn, conn.transaction():
            for statement in statements:
                conn.execute(statement)

    def _engine(self, pool_size: int, **overrides: Any) -> Engine:
        return sa.create_engine(
            "postgresql+psycopg://",
            connect_args=self._admin.connect_args(dbname=self._dbname, **overrides),
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=self._pool_timeout,
        )

    def _drop(self) -> None:
        with self._admin_connect() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (self._dbname,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self._dbname)))
            for role in self._roles:
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        self._roles.clear()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this PostgreSQL provider ({self._dbname}) is closed")


def _translator(schema: str) -> ErrorTranslator:
    def translate(exc: BaseException) -> Exception | None:
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return DatabaseAccessError(f"{schema}: {_message(exc)}")
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
            return StatementTimeout(f"{schema}: {_message(exc)}")
        return None

    return translate


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split())
