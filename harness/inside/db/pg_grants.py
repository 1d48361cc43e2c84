"""PostgreSQL with given grants only: what the worker gets, and the provider it builds.

The trust boundary: the worker runs extension code, so it never
sees an admin password. The parent provisions one throw-away database per
host and hands over a :class:`PgGrants` — the database's address plus one
non-superuser login per schema (``core`` for the host, ``ext_{name}`` for each
extension). :class:`PgGrantedProvider` connects with exactly those logins and
creates nothing: every schema, role, search_path and statement timeout was
set up by the parent, and dropping them is the parent's job too.

Wire shape (the ``database`` argument of the worker's ``host.start``)::

    {"backend": "postgresql", "key": "dufflebag_1a2b3c4d", "host": "/tmp/dbpg..",
     "port": 5432, "dbname": "dufflebag_1a2b3c4d", "statement_timeout_s": 5.0,
     "core": {"user": "core_1a2b3c4d", "password": "..", "schema": "core",
              "connections": 5},
     "extensions": {"analytics": {"user": "ext_analytics_1a2b3c4d", "password": "..",
                                  "schema": "ext_analytics", "connections": 5}}}
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from dufflebag_harness.inside.db._pg_errors import translator
from dufflebag_harness.inside.db._provider import ProviderBase
from dufflebag_harness.inside.db._service import IsolatedDatabase
from dufflebag_harness.shared.postgres import (
    GrantsError,
    PgGrants,
    RoleGrant,
    describe_grants,
    pg_engine,
)

__all__ = ["GrantsError", "PgGrantedProvider", "PgGrants", "RoleGrant", "describe_grants"]


class PgGrantedProvider(ProviderBase):
    """A :class:`~dufflebag_harness.inside.db.DatabaseProvider` that only connects with the
    grants given."""

    def __init__(
        self, grants: PgGrants, *, pool_timeout: float = 10.0, core_pool_size: int = 5
    ) -> None:
        super().__init__()
        self._grants = grants
        self._pool_timeout = pool_timeout
        self._core = self._engine(grants.core, min(core_pool_size, grants.core.connections),
                                  "dufflebag-core")

    @property
    def backend(self) -> str:
        return "postgresql"

    @property
    def grants(self) -> PgGrants:
        return self._grants

    def describe_isolation(self) -> str:
        return describe_grants()

    def core_engine(self) -> Engine:
        """The host's engine: the ``core`` login, whose search_path is ``core``."""
        self._check_open()
        return self._core

    def _create(self, name: str, pool_size: int) -> IsolatedDatabase:
        """The database of ``name``, connecting as its own role.

        The pool never exceeds the connections the parent granted the role.
        The database itself is the parent's to drop: closing only closes the pools.
        """
        grant = self._grants.extensions.get(name)
        if grant is None:
            known = ", ".join(sorted(self._grants.extensions)) or "none"
            raise LookupError(
                f"no database login was provisioned for extension {name!r} "
                f"(provisioned: {known})"
            )
        engine = self._engine(grant, min(pool_size, grant.connections),
                              f"dufflebag-{grant.schema}")
        return IsolatedDatabase(backend="postgresql", schema=grant.schema, engine=engine,
                                translate=translator(grant.schema))

    def _engine(self, grant: RoleGrant, pool_size: int, application: str) -> Engine:
        g = self._grants
        return pg_engine(host=g.host, port=g.port, user=grant.user, password=grant.password,
                         dbname=g.dbname, pool_size=pool_size, pool_timeout=self._pool_timeout,
                         application_name=application)

    def _label(self) -> str:
        return f"PostgreSQL provider ({self._grants.dbname})"
