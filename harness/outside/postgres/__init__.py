"""PostgreSQL servers for the ``postgresql`` backend: provisioned, checked, torn down.

This package only supplies a server and admin credentials; per-extension
schemas and roles are :mod:`dufflebag_harness.inside.db`'s business. Providers, first that
works: a DSN, a testcontainers container, an ephemeral local cluster.

    with provision(require=True) as server:
        psycopg.connect(server.admin_dsn)
"""

from __future__ import annotations

from dufflebag_harness.outside.postgres._errors import PostgresUnavailable, ProviderFailure
from dufflebag_harness.outside.postgres._provision import (
    DSN_ENV,
    REQUIRE_ENV,
    last_errors,
    postgres_required,
    provision,
)
from dufflebag_harness.outside.postgres._server import PgServer
from dufflebag_harness.outside.postgres._sweep import sweep_stale_clusters

__all__ = [
    "DSN_ENV",
    "REQUIRE_ENV",
    "PgServer",
    "PostgresUnavailable",
    "ProviderFailure",
    "last_errors",
    "postgres_required",
    "provision",
    "sweep_stale_clusters",
]
