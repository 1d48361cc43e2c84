"""Choose a PostgreSQL provider: a DSN, else a container, else a local cluster.

A DSN that is given but does not work is an error, not a reason to try the
next provider: the user asked for that server, and certifying against another
one instead would hide their mistake.
"""

from __future__ import annotations

import os
import threading

from dufflebag_harness.outside.postgres._cluster import start_cluster
from dufflebag_harness.outside.postgres._containers import start_container
from dufflebag_harness.outside.postgres._dsn import connect_dsn
from dufflebag_harness.outside.postgres._errors import (
    PostgresUnavailable,
    ProviderError,
    ProviderFailure,
)
from dufflebag_harness.outside.postgres._server import PgServer

__all__ = ["DSN_ENV", "REQUIRE_ENV", "last_errors", "postgres_required", "provision"]

DSN_ENV = "DUFFLEBAG_PG_DSN"
REQUIRE_ENV = "DUFFLEBAG_REQUIRE_POSTGRES"

_last_lock = threading.Lock()
_last: tuple[ProviderFailure, ...] = ()


def postgres_required() -> bool:
    """Whether ``DUFFLEBAG_REQUIRE_POSTGRES`` asks to fail rather than skip."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def last_errors() -> tuple[ProviderFailure, ...]:
    """Why each provider failed in the most recent :func:`provision` call (any thread)."""
    with _last_lock:
        return _last


def _remember(failures: list[ProviderFailure]) -> None:
    global _last
    with _last_lock:
        _last = tuple(failures)


def provision(dsn: str | None = None, *, require: bool = False) -> PgServer | None:
    """Return a PostgreSQL server with admin rights from the first provider that works.

    Order: ``dsn`` (or ``DUFFLEBAG_PG_DSN``) → testcontainers when a Docker
    engine answers → an ephemeral local cluster. With none, return None (see
    :func:`last_errors`), or raise :class:`PostgresUnavailable` when ``require``
    is true or ``DUFFLEBAG_REQUIRE_POSTGRES=1``. A configured DSN that fails
    always raises. Close the server (or use it as a context manager) to stop
    what was started.
    """
    failures: list[ProviderFailure] = []
    source = "argument"
    if not (dsn and dsn.strip()):
        dsn, source = os.environ.get(DSN_ENV, ""), DSN_ENV
    if dsn.strip():
        try:
            server = connect_dsn(dsn, source=source)
        except PostgresUnavailable as exc:
            _remember(list(exc.failures))
            raise
        _remember([])
        return server
    failures.append(ProviderFailure("dsn", f"not configured (no argument, {DSN_ENV} unset)"))
    for name, start in (("testcontainers", start_container), ("ephemeral", start_cluster)):
        try:
            server = start()
        except ProviderError as exc:
            failures.append(ProviderFailure(name, str(exc)))
            continue
        _remember(failures)
        return server
    _remember(failures)
    if require or postgres_required():
        raise PostgresUnavailable(failures)
    return None
