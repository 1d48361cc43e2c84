"""What only the PostgreSQL backend has to prove: roles, timeouts, clean-up."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from dufflebag_harness.inside.db import (
    ExtensionDatabase,
    MigrationError,
    PgAdmin,
    PostgresProvider,
    StatementTimeout,
)
from dufflebag_harness.sdk import DatabaseAccessError, ExtensionError, Migration

from ._helpers import Provider, run

pytestmark = pytest.mark.postgres


def _admin_query(admin: PgAdmin, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(**admin.connect_args()) as conn:
        return conn.execute(sql, params).fetchall()


_names = itertools.count(1)


@pytest.fixture(scope="module")
def pg(pg_admin: PgAdmin) -> Iterator[PostgresProvider]:
    """One provider for the module; each test takes extensions of its own names."""
    provider = PostgresProvider(pg_admin, statement_timeout=0.3)
    yield provider
    provider.close()


def _fresh(pg: PostgresProvider, **options: Any) -> tuple[str, ExtensionDatabase]:
    name = f"p{next(_names):03d}"
    return name, pg.for_extension(name, **options)


def test_a_statement_past_the_timeout_is_cancelled_with_a_clear_error(
    pg: PostgresProvider,
) -> None:
    _, db = _fresh(pg)
    started = time.monotonic()
    with pytest.raises(StatementTimeout, match="statement timeout") as caught:
        run(db.fetch_all, "SELECT pg_sleep(10)")
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, ExtensionError)
    assert run(db.fetch_all, "SELECT 1 AS ok") == [{"ok": 1}]  # the pool recovers


def test_extension_roles_are_unprivileged_and_limited(
    pg: PostgresProvider, pg_admin: PgAdmin
) -> None:
    name, _ = _fresh(pg, pool_size=3)
    role = pg.role_for(name)
    assert role.startswith(f"ext_{name}_")
    rows = _admin_query(
        pg_admin,
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolinherit, rolcanlogin, rolconnlimit "
        "FROM pg_roles WHERE rolname = %s",
        role,
    )
    assert rows == [(False, False, False, False, True, 4)]
    owner = _admin_query(
        PgAdmin(pg_admin.host, pg_admin.port, pg_admin.user, pg_admin.password, pg.database),
        "SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = %s",
        f"ext_{name}",
    )
    assert owner == [(role,)]


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE public.planted (x INTEGER)",
        "CREATE TEMP TABLE scratch (x INTEGER)",
        "CREATE SCHEMA another",
        "SET ROLE postgres",
    ],
)
def test_nothing_beyond_the_own_schema_is_granted(pg: PostgresProvider, sql: str) -> None:
    _, db = _fresh(pg)
    with pytest.raises(DatabaseAccessError, match="permission denied"):
        run(db.execute, sql)


def test_search_path_is_the_own_schema(pg: PostgresProvider) -> None:
    name, db = _fresh(pg)
    assert run(db.fetch_all, "SHOW search_path") == [{"search_path": f"ext_{name}"}]
    assert run(db.fetch_all, "SELECT current_user AS u") == [{"u": pg.role_for(name)}]


def test_two_providers_on_one_server_coexist(make_provider: Callable[..., Provider]) -> None:
    first, second = make_provider("postgresql"), make_provider("postgresql")
    a1, a2 = first.for_extension("alpha"), second.for_extension("alpha")
    assert a1.schema == a2.schema == "ext_alpha"
    run(a1.execute, "CREATE TABLE t (x INTEGER)")
    run(a2.execute, "CREATE TABLE t (x INTEGER)")
    run(a1.execute, "INSERT INTO t VALUES (1)")
    assert run(a2.fetch_all, "SELECT count(*) AS n FROM t") == [{"n": 0}]


def test_close_drops_the_database_and_the_roles(
    make_provider: Callable[..., Provider], pg_admin: PgAdmin
) -> None:
    provider = make_provider("postgresql")
    assert isinstance(provider, PostgresProvider)
    db = provider.for_extension("alpha")
    run(db.execute, "CREATE TABLE t (x INTEGER)")
    name, role = provider.database, provider.role_for("alpha")
    provider.close()
    assert _admin_query(pg_admin, "SELECT 1 FROM pg_database WHERE datname = %s", name) == []
    assert _admin_query(pg_admin, "SELECT 1 FROM pg_roles WHERE rolname = %s", role) == []


def test_dollar_quoted_bodies_and_percent_signs_survive_migrations(pg: PostgresProvider) -> None:
    _, db = _fresh(pg)
    function = Migration(
        1,
        "function",
        "CREATE FUNCTION shout(t text) RETURNS text LANGUAGE plpgsql AS $body$\n"
        "BEGIN\n  RETURN upper(t) || '; 100%';\nEND;\n$body$;\n"
        "CREATE FUNCTION twice(x int) RETURNS int LANGUAGE sql\n"
        "BEGIN ATOMIC\n  SELECT CASE WHEN x IS NULL THEN 0 ELSE x * 2 END;\nEND;",
        "DROP FUNCTION twice(int); DROP FUNCTION shout(text);",
    )
    assert db.migrate([function]) == [1]
    assert run(db.fetch_all, "SELECT shout('hi') AS s, twice(4) AS d") == [
        {"s": "HI; 100%", "d": 8}
    ]
    assert db.downgrade([function], 0) == [1]


def test_a_migration_running_into_the_timeout_rolls_back(pg: PostgresProvider) -> None:
    _, db = _fresh(pg)
    slow = Migration(1, "slow", "CREATE TABLE t (x INTEGER); SELECT pg_sleep(5);")
    with pytest.raises(MigrationError, match="statement timeout") as caught:
        db.migrate([slow])
    assert caught.value.version == 1
    assert db.applied() == []
    assert run(db.fetch_all, "SELECT to_regclass('t') IS NULL AS gone") == [{"gone": True}]
