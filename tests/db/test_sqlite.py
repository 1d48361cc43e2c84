"""What only the SQLite backend has to prove: the authorizer's edges and the shared pool."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import sqlalchemy as sa

from dufflebag_harness.inside.db import ExtensionDatabase, SqliteProvider
from dufflebag_harness.sdk import DatabaseAccessError, Migration

from ._helpers import host_execute, host_rows, run


@pytest.fixture
def sqlite() -> Iterator[SqliteProvider]:
    provider = SqliteProvider(pool_timeout=0.2)
    host_execute(
        provider,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO users VALUES (1, 'admin')",
    )
    yield provider
    provider.close()


@pytest.fixture
def alpha(sqlite: SqliteProvider) -> ExtensionDatabase:
    db = sqlite.for_extension("alpha", pool_size=3)
    run(db.execute, "CREATE TABLE t (x INTEGER)")
    return db


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH DATABASE ':memory:' AS extra",
        "ATTACH DATABASE 'file:/anything?vfs=memdb' AS extra",
        "DETACH DATABASE core",
        "PRAGMA database_list",
        "SELECT * FROM pragma_database_list",
        "PRAGMA table_info(users)",
        "PRAGMA core.table_info(users)",
        "SELECT name FROM core.sqlite_master",
        "SELECT * FROM dbstat('core')",
        "SELECT load_extension('/nonexistent')",
        "SELECT * FROM users",  # unqualified, absent from main: resolves to core, denied
    ],
)
def test_reaching_outside_main_is_denied(
    sqlite: SqliteProvider, alpha: ExtensionDatabase, sql: str
) -> None:
    with pytest.raises(DatabaseAccessError, match=r"not authorized|prohibited|denied"):
        run(alpha.fetch_all, sql)


def test_vacuum_into_a_file_is_denied(alpha: ExtensionDatabase, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    raw = alpha.engine.raw_connection()  # VACUUM must run outside a transaction
    try:
        with pytest.raises(sqlite3.DatabaseError, match="authorization denied"):
            raw.cursor().execute(f"VACUUM INTO '{target}'")
    finally:
        raw.close()
    assert not target.exists()


def test_own_pragmas_and_introspection_still_work(alpha: ExtensionDatabase) -> None:
    columns = run(alpha.fetch_all, "PRAGMA main.table_info(t)")
    assert [c["name"] for c in columns] == ["x"]
    assert run(alpha.fetch_all, "PRAGMA foreign_keys") == [{"foreign_keys": 0}]
    assert sa.inspect(alpha.engine).get_table_names() == ["t"]


def test_temporary_views_and_triggers_cannot_reach_core(
    sqlite: SqliteProvider, alpha: ExtensionDatabase
) -> None:
    with alpha.engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMP VIEW peek AS SELECT * FROM core.users")
        with pytest.raises(sa.exc.DatabaseError, match="prohibited"):
            conn.exec_driver_sql("SELECT * FROM peek").all()
        conn.exec_driver_sql(
            "CREATE TEMP TRIGGER plant AFTER INSERT ON main.t "
            "BEGIN INSERT INTO users VALUES (99, 'planted'); END"
        )
        with pytest.raises(sa.exc.DatabaseError, match="not authorized"):
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")  # fires the trigger
    assert host_rows(sqlite, "SELECT id FROM users") == [(1,)]


def test_pooled_connections_share_one_database(alpha: ExtensionDatabase) -> None:
    engine = alpha.engine
    with engine.connect() as first, engine.connect() as second, engine.connect() as third:
        raw = {id(c.connection.dbapi_connection) for c in (first, second, third)}
        assert len(raw) == 3
        first.exec_driver_sql("INSERT INTO t VALUES (42)")
        first.commit()
        assert second.exec_driver_sql("SELECT x FROM t").all() == [(42,)]
        assert third.exec_driver_sql("SELECT x FROM t").all() == [(42,)]


def test_pool_size_is_the_connection_limit(alpha: ExtensionDatabase) -> None:
    engine = alpha.engine
    with engine.connect(), engine.connect(), engine.connect(), pytest.raises(sa.exc.TimeoutError):
        engine.connect()


def test_concurrent_writers_wait_for_each_other_instead_of_failing(
    alpha: ExtensionDatabase,
) -> None:
    async def write_many() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(60):
                tg.start_soon(alpha.execute, "INSERT INTO t VALUES (:x)", {"x": i})

    run(write_many)
    assert run(alpha.fetch_all, "SELECT count(*) AS n FROM t") == [{"n": 60}]


def test_engine_threads_share_data(alpha: ExtensionDatabase) -> None:
    def insert(value: int) -> None:
        with alpha.engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO t VALUES ({value})")

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = run(alpha.fetch_all, "SELECT x FROM t ORDER BY x")
    assert [r["x"] for r in rows] == list(range(6))


def test_migrations_with_trigger_bodies_run_whole(alpha: ExtensionDatabase) -> None:
    trigger = Migration(
        1,
        "audit trigger",
        "CREATE TABLE log (msg TEXT);\n"
        "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN\n"
        "  INSERT INTO log VALUES ('x=' || new.x || ';');\n"
        "  INSERT INTO log VALUES (CASE WHEN new.x > 0 THEN 'positive' ELSE 'other' END);\n"
        "END;",
        "DROP TRIGGER t_log; DROP TABLE log;",
    )
    assert alpha.migrate([trigger]) == [1]
    run(alpha.execute, "INSERT INTO t VALUES (5)")
    rows = run(alpha.fetch_all, "SELECT msg FROM log")
    assert [r["msg"] for r in rows] == ["x=5;", "positive"]


def test_many_extensions_stay_isolated_past_the_attach_limit(sqlite: SqliteProvider) -> None:
    dbs = [sqlite.for_extension(f"e{i:02d}") for i in range(13)]
    for db in dbs:
        run(db.execute, "CREATE TABLE z (x INTEGER)")
        run(db.execute, "INSERT INTO z VALUES (1)")
    first, last = dbs[0], dbs[-1]
    for source, target in ((first, last), (last, first)):
        with pytest.raises(DatabaseAccessError):
            run(source.fetch_all, f"SELECT * FROM {target.schema}.z")
    assert run(last.fetch_all, "SELECT x FROM z") == [{"x": 1}]


def test_the_hosts_engine_sees_core_and_extensions_without_restriction(
    sqlite: SqliteProvider, alpha: ExtensionDatabase
) -> None:
    run(alpha.execute, "INSERT INTO t VALUES (7)")
    beta = sqlite.for_extension("beta")
    run(beta.execute, "CREATE TABLE u (y INTEGER)")
    host_execute(sqlite, "INSERT INTO ext_beta.u VALUES (8)")
    assert host_rows(sqlite, "SELECT x FROM ext_alpha.t") == [(7,)]
    assert run(beta.fetch_all, "SELECT y FROM u") == [{"y": 8}]
