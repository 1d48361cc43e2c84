"""Parent-side backends: which are available, and what each host gets.

The parent owns database servers: it provisions PostgreSQL once per run
(``dufflebag_harness.outside.postgres.provision``: a DSN, a container, or an ephemeral local
cluster), holds its admin credentials, and per host creates a throw-away
database with one non-superuser login per schema. The worker receives only
those logins (the trust boundary: it runs extension code), and the parent
keeps the admin connection to judge database state from outside
(:meth:`Backends.inspector`). SQLite needs nothing from the parent: the
worker makes a private in-memory database per host.

PostgreSQL unavailable: its pairs are skipped with the reason (naming every
provider tried), unless it is required (``DUFFLEBAG_REQUIRE_POSTGRES=1``) —
then, as for a DSN that is given but does not work, the run stops with
:class:`BackendUnavailable` (exit 2): a user's mistake must never quietly
become a skip.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from dufflebag_harness.outside.postgres import (
    PgServer,
    PostgresUnavailable,
    last_errors,
    postgres_required,
    provision,
)
from dufflebag_harness.outside.postgres.databases import PgAdmin, PgProvisioner
from dufflebag_harness.outside.postgres.relay import UnixRelay

__all__ = [
    "DEFAULT_POOL",
    "STATEMENT_TIMEOUT_S",
    "BackendUnavailable",
    "Backends",
    "DatabaseInspector",
]

#: Statement timeout of every extension's (and the host's) database sessions.
STATEMENT_TIMEOUT_S = 5.0
#: Pool size of an extension whose quota the parent was not told.
DEFAULT_POOL = 5
#: The report names providers as the schema knows them.
_PROVIDER_NAMES = {"ephemeral": "local", "dsn": "dsn", "testcontainers": "testcontainers"}


class DatabaseInspector(Protocol):
    """The parent's admin view of one PostgreSQL host database
    (:mod:`dufflebag_harness.outside.postgres.inspector`)."""

    @property
    def key(self) -> str: ...
    def structure(self, schema: str) -> dict[str, Any]: ...
    def digests(self, schema: str) -> dict[str, str]: ...
    def rows(self, schema: str, table: str) -> list[dict[str, Any]]: ...
    def insert(self, schema: str, table: str, row: Mapping[str, Any]) -> None: ...
    def attempt(self, extension: str, statements: Sequence[str]) -> list[dict[str, Any]]: ...
    def long_running(self, extension: str, seconds: float) -> list[dict[str, Any]]: ...


class BackendUnavailable(Exception):
    """A backend the run needs is required (DUFFLEBAG_REQUIRE_POSTGRES=1) but missing,
    or the PostgreSQL server the user named does not work."""


class Backends:
    """Backends for one certification run (thread-safe; closed once at the end)."""

    def __init__(
        self,
        *,
        pg_dsn: str | None = None,
        require_postgres: bool = False,
        statement_timeout_s: float = STATEMENT_TIMEOUT_S,
    ) -> None:
        self.pg_dsn = pg_dsn
        self.require_postgres = require_postgres or postgres_required()
        self.statement_timeout_s = statement_timeout_s
        self._lock = threading.Lock()
        self._unavailable: dict[str, str] = {}
        self._server: PgServer | None = None
        self._provisioner: PgProvisioner | None = None
        self._prepared = False
        self._relay: UnixRelay | None = None

    # -- the run -------------------------------------------------------------
    def prepare(self, needed: set[str]) -> None:
        """Start what the planned pairs need (once per run; later calls do nothing)."""
        with self._lock:
            if self._prepared:
                return
            self._prepared = True
        if "postgresql" not in needed:
            self._unavailable["postgresql"] = "PostgreSQL not needed by the selected checks"
            return
        try:
            server = provision(self.pg_dsn, require=self.require_postgres)
        except PostgresUnavailable as exc:
            raise BackendUnavailable(_unavailable_message(exc, self.require_postgres)) from None
        if server is None:
            reasons = "; ".join(str(f) for f in last_errors()) or "no provider answered"
            self._unavailable["postgresql"] = f"PostgreSQL unavailable: {reasons}"
            return
        self._server = server
        reach = None
        if not server.host.startswith("/"):  # TCP: sandboxed workers need a unix door
            self._relay = UnixRelay(server.host, server.port)
            reach = (self._relay.dir, server.port)
        self._provisioner = PgProvisioner(PgAdmin.of(server),
                                          statement_timeout_s=self.statement_timeout_s,
                                          reach=reach)
        self._provisioner.sweep_stale()  # left on a shared server by runs killed with -9
        self._provisioner.warm()

    def sandbox_binds(self) -> list[str]:
        """Folders a sandboxed worker must see to reach the run's servers: the unix-socket
        folder of a local PostgreSQL (connecting works through a read-only bind)."""
        server = self._server
        if self._relay is not None:
            return [self._relay.dir]
        if server is not None and server.host.startswith("/"):
            return [server.host]
        return []

    def unavailable(self) -> dict[str, str]:
        """Backend → reason it cannot be used in this run."""
        return dict(self._unavailable)

    def environment(self) -> dict[str, Any] | None:
        """``{version, provider}`` of PostgreSQL for the report, or None."""
        if self._server is None:
            return None
        return {"version": self._server.version,
                "provider": _PROVIDER_NAMES.get(self._server.provider, self._server.provider)}

    def close(self) -> None:
        """Drop every database and role still there, then stop what this run started."""
        provisioner, server, relay = self._provisioner, self._server, self._relay
        self._provisioner = self._server = self._relay = None
        try:
            if provisioner is not None:
                provisioner.close()
        finally:
            if relay is not None:
                relay.close()
            if server is not None:
                server.close()

    # -- per host ------------------------------------------------------------
    def host_database(
        self,
        backend: str,
        extensions: Sequence[str],
        *,
        pool_sizes: Mapping[str, int] | None = None,
        statement_timeout_s: float | None = None,
    ) -> dict[str, Any]:
        """The ``database`` argument for a fresh host on ``backend``.

        PostgreSQL: a new database with logins for the core and for each of
        ``extensions`` (pool sizes from ``pool_sizes``, default
        :data:`DEFAULT_POOL`); SQLite: a private in-memory database the
        worker makes. Either way ``key`` names it for :meth:`release` and probes.
        """
        timeout = statement_timeout_s or self.statement_timeout_s
        if backend != "postgresql":
            return {"backend": "sqlite", "key": f"sqlite_{secrets.token_hex(6)}",
                    "statement_timeout_s": timeout}
        provisioner = self._provisioner
        if provisioner is None:
            reason = self._unavailable.get("postgresql", "PostgreSQL was not prepared")
            raise BackendUnavailable(reason)
        sizes = {name: max(1, int((pool_sizes or {}).get(name) or DEFAULT_POOL))
                 for name in extensions}
        return provisioner.create(sizes, statement_timeout_s=timeout).to_args()

    def release(self, database: Mapping[str, Any]) -> None:
        """Drop what :meth:`host_database` created, once the host has stopped."""
        if database.get("backend") == "postgresql" and self._provisioner is not None:
            self._provisioner.drop(str(database["key"]))

    def inspector(self, database: Mapping[str, Any]) -> DatabaseInspector:
        """The parent's admin view of a PostgreSQL host database (KeyError once released)."""
        provisioner = self._provisioner
        if provisioner is None or database.get("backend") != "postgresql":
            raise KeyError("only PostgreSQL databases are inspected from the parent")
        return provisioner.inspector(str(database["key"]))

    def live_databases(self) -> list[str]:
        """PostgreSQL databases created and not yet released (for tests and clean-up)."""
        return self._provisioner.live() if self._provisioner is not None else []


def _unavailable_message(exc: PostgresUnavailable, required: bool) -> str:
    """The provisioning error, saying why it stops the run rather than skipping pairs."""
    dsn_failed = any(f.provider == "dsn" and not f.reason.startswith("not configured")
                     for f in exc.failures)
    if dsn_failed:
        return f"{exc} (the PostgreSQL server named by --pg-dsn / DUFFLEBAG_PG_DSN must work)"
    if required:
        return f"{exc} (required by DUFFLEBAG_REQUIRE_POSTGRES=1)"
    return str(exc)
