"""PostgreSQL with given grants only: what the worker gets, and the provider it builds.

The trust boundary (DESIGN.md): the worker runs extension code, so it never
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

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from harness.db._api import check_request
from harness.db._pg_setup import pg_engine, translator
from harness.db._service import IsolatedDatabase
from harness.sdk import NAME_PATTERN

__all__ = ["GrantsError", "PgGrantedProvider", "PgGrants", "RoleGrant", "describe_grants"]


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


class PgGrantedProvider:
    """A :class:`~harness.db.DatabaseProvider` that only connects with the grants given."""

    def __init__(
        self, grants: PgGrants, *, pool_timeout: float = 10.0, core_pool_size: int = 5
    ) -> None:
        self._grants = grants
        self._pool_timeout = pool_timeout
        self._lock = threading.Lock()
        self._closed = False
        self._extensions: dict[str, IsolatedDatabase] = {}
        self._core = self._engine(grants.core, min(core_pool_size, grants.core.connections),
                                  "dufflebag-core")

    @property
    def backend(self) -> str:
        return "postgresql"

    @property
    def grants(self) -> PgGrants:
        return self._grants

    @property
    def closed(self) -> bool:
        return self._closed

    def describe_isolation(self) -> str:
        return describe_grants()

    def core_engine(self) -> Engine:
        """The host's engine: the ``core`` login, whose search_path is ``core``."""
        self._check_open()
        return self._core

    def for_extension(self, name: str, *, pool_size: int = 5) -> IsolatedDatabase:
        """The database of ``name``, connecting as its own role (created once).

        The pool never exceeds the connections the parent granted the role.
        """
        check_request(name, pool_size)
        with self._lock:
            self._check_open()
            existing = self._extensions.get(name)
            if existing is not None:
                return existing
            grant = self._grants.extensions.get(name)
            if grant is None:
                known = ", ".join(sorted(self._grants.extensions)) or "none"
                raise LookupError(
                    f"no database login was provisioned for extension {name!r} "
                    f"(provisioned: {known})"
                )
            engine = self._engine(grant, min(pool_size, grant.connections),
                                  f"dufflebag-{grant.schema}")
            db = IsolatedDatabase(backend="postgresql", schema=grant.schema, engine=engine,
                                  translate=translator(grant.schema))
            self._extensions[name] = db
            return db

    def close(self) -> None:
        """Close every pool; idempotent. The database itself is the parent's to drop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            extensions = list(self._extensions.values())
        for db in extensions:
            db.dispose()
        self._core.dispose()

    def _engine(self, grant: RoleGrant, pool_size: int, application: str) -> Engine:
        g = self._grants
        return pg_engine(host=g.host, port=g.port, user=grant.user, password=grant.password,
                         dbname=g.dbname, pool_size=pool_size, pool_timeout=self._pool_timeout,
                         application_name=application)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this PostgreSQL provider ({self._grants.dbname}) is closed")
