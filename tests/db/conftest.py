"""Providers for the database tests: SQLite always, PostgreSQL when one can be provisioned.

The PostgreSQL server comes from :func:`dufflebag_harness.outside.postgres.provision` (a DSN in
``DUFFLEBAG_PG_DSN``, a container, or an ephemeral local cluster), once per
session. Without one the PostgreSQL cases are skipped with the reason, and
*fail* when ``DUFFLEBAG_REQUIRE_POSTGRES=1``, so a machine without PostgreSQL
can never turn the suite green by skipping.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dufflebag_harness.inside.db import PgAdmin, PostgresProvider, SqliteProvider
from dufflebag_harness.outside.postgres import (
    PgServer,
    PostgresUnavailable,
    last_errors,
    postgres_required,
    provision,
)

from ._helpers import BACKENDS, Ext, Provider

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer | str]:
    """The session's server, or the reason there is none (tests decide to skip or fail)."""
    try:
        server = provision()
    except PostgresUnavailable as exc:
        yield str(exc)
        return
    if server is None:
        yield "PostgreSQL unavailable: " + "; ".join(str(f) for f in last_errors())
        return
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_admin(pg_server: PgServer | str) -> PgAdmin:
    """Admin access to the session's server; skipped (or failed, when required) without one."""
    if isinstance(pg_server, str):
        if postgres_required():
            pytest.fail(f"{pg_server} (and DUFFLEBAG_REQUIRE_POSTGRES=1)")
        pytest.skip(pg_server)
    return PgAdmin.of(pg_server)


@pytest.fixture
def make_provider(request: pytest.FixtureRequest) -> Iterator[Callable[..., Provider]]:
    """Build providers of a backend with options; every one is closed after the test."""
    made: list[Provider] = []

    def make(backend: str, **options: Any) -> Provider:
        provider: Provider
        if backend == "sqlite":
            provider = SqliteProvider(**options)
        else:
            provider = PostgresProvider(request.getfixturevalue("pg_admin"), **options)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


@pytest.fixture(params=BACKENDS)
def provider(request: pytest.FixtureRequest, make_provider: Callable[..., Provider]) -> Provider:
    """A fresh provider of each backend."""
    return make_provider(request.param)


@pytest.fixture(scope="module")
def shared_pg_provider(pg_admin: PgAdmin) -> Iterator[PostgresProvider]:
    """One PostgreSQL provider per module (creating a database costs ~0.15 s)."""
    provider = PostgresProvider(pg_admin)
    yield provider
    provider.close()


@pytest.fixture(params=BACKENDS)
def ext(request: pytest.FixtureRequest, make_provider: Callable[..., Provider]) -> Ext:
    """A fresh extension (its own schema): ``(provider, db)``.

    On PostgreSQL the provider is shared by the module (extensions are
    isolated from each other, which is what is under test); on SQLite it is
    new for each test, because the host's engine attaches at most 10
    extension databases.
    """
    provider: Provider
    if request.param == "sqlite":
        provider = make_provider("sqlite")
    else:
        provider = request.getfixturevalue("shared_pg_provider")
    return provider, provider.for_extension(f"t{next(_names):04d}")
