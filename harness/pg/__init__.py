"""PostgreSQL servers for the ``postgresql`` backend: provisioned, checked, torn down.

This package only supplies a server and admin credentials; per-extension
schemas and roles are :mod:`harness.db`'s business. Providers, first that
works: a DSN, a testcontainers container, an ephemeral local cluster.

    with provision(require=True) as server:
        psycopg.connect(server.admin_dsn)
"""

from __future__ import annotations

from harness.pg._errors import PostgresUnavailable, ProviderFailure
from harness.pg._provision import (
    DSN_ENV,
    REQUIRE_ENV,
    last_errors,
    postgres_required,
    provision,
)
from harness.pg._server import PgServer
from harness.pg._sweep import sweep_stale_clusters

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
