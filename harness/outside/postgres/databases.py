"""The parent's side of the PostgreSQL backend: databases and roles per host.

It holds admin SQL only and never runs a host or extension code.

The certifying parent holds the admin credentials of the run's server; per
host it creates a throw-away database with a ``core`` login (owning schema
``core``) and one login per extension (owning ``ext_{name}``), and hands the
worker only those logins (:class:`~dufflebag_harness.shared.postgres.PgGrants`). It keeps
the admin connection to judge the database from outside
(:class:`~dufflebag_harness.outside.postgres.inspector.PgInspector`) and drops everything when the
host is released, or at :meth:`PgProvisioner.close` whatever is still there.

Roles are cluster-wide, so every name carries the database's random token:
parallel runs and parallel hosts on one server never collide.

``CREATE DATABASE`` copies a template (tens of milliseconds on a quiet
machine, half a second on a busy one), and a run creates one per check. So
one empty database is kept ready: made in a background thread while the
current host runs, and handed out (roles and schemas added, ~20 ms) by the
next :meth:`PgProvisioner.create`.

A harness killed with ``kill -9`` cannot drop what it made on a server it does
not own (a DSN). Each database therefore carries a comment naming the
machine and the process that made it; :meth:`PgProvisioner.sweep_stale`
drops databases (and their roles) whose process on this machine is gone.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Mapping
from typing import Any

import psutil

from dufflebag_harness.outside.postgres.inspector import PgInspector
from dufflebag_harness.sdk import NAME_PATTERN
from dufflebag_harness.shared.postgres import (
    PgAdmin,
    PgGrants,
    RoleGrant,
    create_database,
    drop_database,
    grant_schema_role,
    new_password,
)

__all__ = ["CORE_CONNECTIONS", "DATABASE_PREFIX", "MAX_POOL", "PgAdmin", "PgProvisioner"]

_log = logging.getLogger("dufflebag_harness.outside.postgres")
_OWNER_TAG = "dufflebag-owner "
_OURS = (
    "SELECT d.datname, shobj_description(d.oid, 'pg_database') FROM pg_database d "
    "WHERE d.datname LIKE 'dufflebag\\_%'"
)
_ROLES_OF = "SELECT rolname FROM pg_roles WHERE rolname = %s OR rolname LIKE %s"

DATABASE_PREFIX = "dufflebag_"
#: The host's core login: users and tokens are read once into memory, so few sessions.
CORE_CONNECTIONS = 5
#: Upper bound of one extension's pool (its ``db_connections`` quota is capped here),
#: so 10 extensions x 2 hosts alive at once stay well inside ``max_connections``.
MAX_POOL = 10


def _machine() -> str:
    """This host and pid namespace: pids are only comparable within one namespace
    (two containers may share a host name, never a pid namespace)."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()} {namespace}".strip()


def _owner_comment() -> str:
    me = psutil.Process()
    return _OWNER_TAG + json.dumps({"host": _machine(), "pid": me.pid,
                                    "started": me.create_time()}, sort_keys=True)


def _owner_gone(comment: str | None) -> bool:
    """Whether the comment names a process of this machine that no longer runs."""
    if not comment or not comment.startswith(_OWNER_TAG):
        return False
    try:
        owner: dict[str, Any] = json.loads(comment[len(_OWNER_TAG):])
        host, pid, started = str(owner["host"]), int(owner["pid"]), float(owner["started"])
    except (ValueError, KeyError, TypeError):
        return False
    if host != _machine():
        return False  # another machine's (or container's) run: not ours to judge
    try:
        created: float = psutil.Process(pid).create_time()
        return abs(created - started) >= 1.0  # the pid was reused by another process
    except psutil.Error:
        return True


class PgProvisioner:
    """Creates and drops per-host databases on one server (thread-safe)."""

    def __init__(self, admin: PgAdmin, *, statement_timeout_s: float = 5.0,
                 reach: tuple[str, int] | None = None) -> None:
        """``reach`` is the (host, port) the logins are handed out with when it differs
        from the admin's (a unix-socket relay a sandboxed worker can see)."""
        if statement_timeout_s <= 0:
            raise ValueError("statement_timeout_s must be positive (seconds)")
        self._admin = admin
        self._reach = reach or (admin.host, admin.port)
        self._timeout_s = statement_timeout_s
        self._lock = threading.Lock()
        self._live: dict[str, PgGrants] = {}
        self._closed = False
        self._spares: list[str] = []  # tokens of empty databases ready to hand out
        self._refill: threading.Thread | None = None

    @property
    def admin(self) -> PgAdmin:
        return self._admin

    def create(
        self,
        extensions: Mapping[str, int],
        *,
        statement_timeout_s: float | None = None,
    ) -> PgGrants:
        """A fresh database for one host: ``extensions`` maps each name to its pool size.

        Pool sizes are capped at :data:`MAX_POOL`; each role's connection
        limit is its pool size plus one. Nothing is left behind on failure.
        """
        timeout = self._timeout_s if statement_timeout_s is None else statement_timeout_s
        if timeout <= 0:
            raise ValueError("statement_timeout_s must be positive (seconds)")
        for name, size in extensions.items():
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                raise ValueError(f"extension name {name!r} must match {NAME_PATTERN.pattern}")
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"pool size of extension {name!r} must be an integer >= 1")
        with self._lock:
            if self._closed:
                raise RuntimeError("this PostgreSQL provisioner is closed")
            token = self._spares.pop() if self._spares else None
        if token is None:
            token = secrets.token_hex(4)
            create_database(self._admin, f"{DATABASE_PREFIX}{token}", comment=_owner_comment())
        dbname = f"{DATABASE_PREFIX}{token}"
        core = RoleGrant(f"core_{token}", new_password(), "core", CORE_CONNECTIONS)
        grants = PgGrants(
            host=self._reach[0], port=self._reach[1], dbname=dbname, core=core,
            extensions={
                name: RoleGrant(f"ext_{name}_{token}", new_password(), f"ext_{name}",
                                min(size, MAX_POOL))
                for name, size in extensions.items()
            },
            statement_timeout_s=float(timeout),
        )
        try:
            timeout_ms = max(1, round(timeout * 1000))
            with self._admin.connect(dbname) as conn, conn.transaction():
                for grant in (core, *grants.extensions.values()):
                    grant_schema_role(conn, dbname=dbname, role=grant.user, schema=grant.schema,
                                      password=grant.password,
                                      connection_limit=grant.connections + 1,
                                      statement_timeout_ms=timeout_ms)
        except BaseException:
            drop_database(self._admin, dbname, ())
            raise
        with self._lock:
            self._live[dbname] = grants
        self._start_refill()
        return grants

    def sweep_stale(self) -> list[str]:
        """Drop databases (and their roles) left by harness processes of this machine that
        died (``kill -9``); return their names. Never touches another machine's or a live
        process's databases; failures are logged and skipped."""
        removed: list[str] = []
        with self._admin.connect() as conn:
            found = conn.execute(_OURS).fetchall()
            for dbname, comment in found:
                if not _owner_gone(comment):
                    continue
                token = str(dbname)[len(DATABASE_PREFIX):]
                try:
                    roles = [r[0] for r in conn.execute(
                        _ROLES_OF, (f"core_{token}", f"ext\\_%\\_{token}")).fetchall()]
                    drop_database(self._admin, str(dbname), roles)
                except Exception as exc:
                    _log.warning("could not remove stale database %s: %s", dbname, exc)
                    continue
                removed.append(str(dbname))
        return removed

    def warm(self) -> None:
        """Start making the spare database now (e.g. while the worker starts)."""
        self._start_refill()

    def _start_refill(self) -> None:
        with self._lock:
            if self._closed or self._spares or (self._refill and self._refill.is_alive()):
                return
            self._refill = threading.Thread(target=self._make_spare, daemon=True,
                                            name="dufflebag-pg-spare")
            self._refill.start()

    def _make_spare(self) -> None:
        token = secrets.token_hex(4)
        try:
            create_database(self._admin, f"{DATABASE_PREFIX}{token}", comment=_owner_comment())
        except Exception:
            return  # the next create() makes its database itself and says why if it fails
        with self._lock:
            if not self._closed:
                self._spares.append(token)
                return
        drop_database(self._admin, f"{DATABASE_PREFIX}{token}", ())

    def grants(self, key: str) -> PgGrants:
        """The grants of a live database (KeyError once dropped)."""
        with self._lock:
            return self._live[key]

    def inspector(self, key: str) -> PgInspector:
        """The admin's view of the live database ``key`` (KeyError once dropped)."""
        return PgInspector(self._admin, self.grants(key))

    def live(self) -> list[str]:
        """Databases created and not yet dropped."""
        with self._lock:
            return sorted(self._live)

    def drop(self, key: str) -> None:
        """Drop the database ``key`` and its roles; idempotent."""
        with self._lock:
            grants = self._live.pop(key, None)
        if grants is not None:
            drop_database(self._admin, grants.dbname, grants.roles())

    def close(self) -> None:
        """Drop every database still live (and the spare); later ``create`` calls are refused."""
        with self._lock:
            self._closed = True
            keys = list(self._live)
            refill = self._refill
        if refill is not None:
            refill.join(timeout=60)
        with self._lock:
            spares, self._spares = self._spares, []
        errors: list[BaseException] = []
        for key in keys:
            try:
                self.drop(key)
            except Exception as exc:  # keep dropping the others, then report
                errors.append(exc)
        for token in spares:
            try:
                drop_database(self._admin, f"{DATABASE_PREFIX}{token}", ())
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
