"""Each extension sees only its own schema, on both backends, and the database says no."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dufflebag_harness.inside.db import ExtensionDatabase, PostgresProvider, SqliteProvider
from dufflebag_harness.sdk import DatabaseAccessError

from ._helpers import BACKENDS, DENIAL_WORDS, Provider, host_execute, host_rows, host_tables, run

World = tuple[Provider, ExtensionDatabase]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    """Core table ``users`` (one row); extensions alpha and beta, beta holding a secret.

    Shared by the denial tests of a backend (each asserts that nothing changed).
    """
    provider: Provider
    if request.param == "sqlite":
        provider = SqliteProvider()
    else:
        provider = PostgresProvider(request.getfixturevalue("pg_admin"))
    try:
        host_execute(
            provider,
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
            "INSERT INTO users (id, name) VALUES (1, 'admin')",
        )
        alpha, beta = provider.for_extension("alpha"), provider.for_extension("beta")
        for db in (alpha, beta):
            run(db.execute, "CREATE TABLE secrets (id INTEGER PRIMARY KEY, value TEXT)")
        run(beta.execute, "INSERT INTO secrets (id, value) VALUES (1, 'beta-only')")
        yield provider, alpha
    finally:
        provider.close()


def _unchanged(provider: Provider) -> None:
    assert host_rows(provider, "SELECT id, name FROM users") == [(1, "admin")]
    assert host_rows(provider, "SELECT id, value FROM ext_beta.secrets") == [(1, "beta-only")]
    assert host_tables(provider, "ext_beta") == {"secrets"}


def _assert_denied(provider: Provider, db: ExtensionDatabase, sql: str) -> None:
    with pytest.raises(DatabaseAccessError) as caught:
        run(db.fetch_all, sql)
    message = str(caught.value).lower()
    assert any(word in message for word in DENIAL_WORDS[provider.backend]), message


def test_unqualified_sql_lands_in_the_extensions_own_schema(provider: Provider) -> None:
    alpha, beta = provider.for_extension("alpha"), provider.for_extension("beta")
    assert (alpha.schema, beta.schema) == ("ext_alpha", "ext_beta")
    assert alpha.backend == provider.backend
    for db, text in ((alpha, "from alpha"), (beta, "from beta")):
        run(db.execute, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        assert run(db.execute, "INSERT INTO notes (id, body) VALUES (1, :b)", {"b": text}) == 1

    assert host_tables(provider, "ext_alpha") == {"notes"}
    assert host_rows(provider, "SELECT body FROM ext_alpha.notes") == [("from alpha",)]
    assert host_rows(provider, "SELECT body FROM ext_beta.notes") == [("from beta",)]
    assert run(alpha.fetch_all, "SELECT id, body FROM notes") == [{"id": 1, "body": "from alpha"}]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM ext_beta.secrets",
        "SELECT count(*) FROM ext_beta.secrets",
        "SELECT s.value FROM secrets JOIN ext_beta.secrets s ON 1 = 1",
    ],
)
def test_reading_another_extensions_schema_is_denied(world: World, sql: str) -> None:
    provider, alpha = world
    _assert_denied(provider, alpha, sql)


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO ext_beta.secrets (id, value) VALUES (2, 'planted')",
        "UPDATE ext_beta.secrets SET value = 'changed'",
        "DELETE FROM ext_beta.secrets",
        "DROP TABLE ext_beta.secrets",
        "CREATE TABLE ext_beta.planted (x INTEGER)",
    ],
)
def test_writing_another_extensions_schema_is_denied(world: World, sql: str) -> None:
    provider, alpha = world
    _assert_denied(provider, alpha, sql)
    _unchanged(provider)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM core.users",
        "SELECT name FROM core.users WHERE id = 1",
        "INSERT INTO core.users (id, name) VALUES (2, 'intruder')",
        "UPDATE core.users SET name = 'owned'",
        "DELETE FROM core.users",
        "DROP TABLE core.users",
        "CREATE TABLE core.planted (x INTEGER)",
    ],
)
def test_core_tables_are_out_of_reach(world: World, sql: str) -> None:
    provider, alpha = world
    _assert_denied(provider, alpha, sql)
    _unchanged(provider)


def test_denial_through_execute_is_the_same_error(world: World) -> None:
    provider, alpha = world
    with pytest.raises(DatabaseAccessError):
        run(alpha.execute, "DELETE FROM ext_beta.secrets")
    _unchanged(provider)


def test_an_extension_added_later_is_isolated_from_earlier_connections(
    provider: Provider,
) -> None:
    alpha = provider.for_extension("alpha")
    run(alpha.execute, "CREATE TABLE t (x INTEGER)")  # alpha's pool now holds a connection
    late = provider.for_extension("late")
    run(late.execute, "CREATE TABLE hidden (x INTEGER)")
    _assert_denied(provider, alpha, "SELECT * FROM ext_late.hidden")
    _assert_denied(provider, late, "SELECT * FROM ext_alpha.t")


def test_for_extension_returns_the_same_database_and_validates_its_input(
    provider: Provider,
) -> None:
    assert provider.for_extension("alpha") is provider.for_extension("alpha")
    with pytest.raises(ValueError, match="Bad-Name"):
        provider.for_extension("Bad-Name")
    with pytest.raises(ValueError, match="pool_size"):
        provider.for_extension("gamma", pool_size=0)


def test_a_closed_provider_refuses_further_use(provider: Provider) -> None:
    alpha = provider.for_extension("alpha")
    provider.close()
    provider.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        provider.for_extension("beta")
    with pytest.raises(RuntimeError, match="closed"):
        provider.core_engine()
    with pytest.raises(RuntimeError, match="disposed"):
        run(alpha.fetch_all, "SELECT 1")
