"""PostgreSQL backend, in-process: one throw-away database per provider, one role per extension.

This provider is for code that holds the admin credentials itself — the
authors' pytest plugin and the harness's own tests. Certification splits the
same work across the trust boundary instead: the parent provisions with
:class:`dufflebag_harness.outside.postgres.databases.PgProvisioner` and the worker connects with
:class:`dufflebag_harness.inside.db.pg_grants.PgGrantedProvider`, never seeing an admin
password. Both paths create databases and roles with the same statements
(:mod:`dufflebag_harness.shared.postgres`).

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
:class:`~dufflebag_harness.sdk.DatabaseAccessError`. A per-role ``statement_timeout``
cancels runaway statements (:class:`~dufflebag_harness.inside.db.StatementTimeout`).
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.engine import Engine

from dufflebag_harness.inside.db._pg_errors import translator
from dufflebag_harness.inside.db._provider import ProviderBase
from dufflebag_harness.inside.db._service import IsolatedDatabase
from dufflebag_harness.shared.postgres import (
    PgAdmin,
    create_database,
    drop_database,
    grant_schema_role,
    new_password,
    pg_engine,
)

__all__ = ["PgAdmin", "PostgresProvider", "describe_isolation"]


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


class PostgresProvider(ProviderBase):
    """One throw-away PostgreSQL database for one host (``backend == "postgresql"``).

    The host's core engine connects as the admin role (this provider lives
    in a trusted process); extensions connect as their own roles.
    """

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
        super().__init__()
        self._admin = admin
        self._token = secrets.token_hex(4)
        self._dbname = f"dufflebag_{self._token}"
        self._timeout_ms = max(1, round(statement_timeout * 1000))
        self._pool_timeout = pool_timeout
        self._roles: list[str] = []
        create_database(admin, self._dbname)
        try:
            with admin.connect(self._dbname) as conn:
                conn.execute("CREATE SCHEMA core")
            self._core = self._engine(
                core_pool_size, options="-c search_path=core", application_name="dufflebag-core"
            )
        except BaseException:
            drop_database(admin, self._dbname, ())
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

    def _create(self, name: str, pool_size: int) -> IsolatedDatabase:
        """Create the role and schema of extension ``name``; its database connects as it."""
        role, schema = self.role_for(name), f"ext_{name}"
        password = new_password()
        # One transaction: a failure leaves neither the role nor the schema behind.
        with self._admin.connect(self._dbname) as conn, conn.transaction():
            grant_schema_role(conn, dbname=self._dbname, role=role, schema=schema,
                              password=password, connection_limit=pool_size + 1,
                              statement_timeout_ms=self._timeout_ms)
        self._roles.append(role)
        engine = self._engine(
            pool_size, user=role, password=password, application_name=f"dufflebag-{schema}"
        )
        return IsolatedDatabase(
            backend="postgresql", schema=schema, engine=engine, translate=translator(schema)
        )

    def _release(self) -> None:
        """Drop the database and the roles created."""
        drop_database(self._admin, self._dbname, self._roles)
        self._roles.clear()

    def _engine(self, pool_size: int, **overrides: Any) -> Engine:
        args: dict[str, Any] = {
            "host": self._admin.host,
            "port": self._admin.port,
            "user": self._admin.user,
            "password": self._admin.password,
            "dbname": self._dbname,
        }
        args.update(overrides)
        return pg_engine(pool_size=pool_size, pool_timeout=self._pool_timeout, **args)

    def _label(self) -> str:
        return f"PostgreSQL provider ({self._dbname})"
