"""Measure provider setup time and the SQLite authorizer's per-query cost.

Run from the repository root: ``python -m tests.db.bench_db`` (PostgreSQL
figures only when :func:`dufflebag_harness.outside.postgres.provision` finds a server).
Not collected
by pytest; prints medians of repeated runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import anyio

from dufflebag_harness.inside.db import PgAdmin, PostgresProvider, SqliteProvider
from dufflebag_harness.outside.postgres import provision

ROUNDS = 7
QUERIES = 20_000


def _median_ms(func: Callable[[], Any], rounds: int = ROUNDS) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _sqlite_setup() -> None:
    provider = SqliteProvider()
    for i in range(5):
        provider.for_extension(f"e{i}")
    provider.close()


def _sqlite_setup_and_first_queries() -> None:
    provider = SqliteProvider()
    for i in range(5):
        anyio.run(provider.for_extension(f"e{i}").fetch_all, "SELECT 1")
    provider.close()


def _per_query_us(raw: Any, distinct: bool) -> float:
    cursor = raw.cursor()
    started = time.perf_counter()
    for i in range(QUERIES):
        if distinct:  # new SQL text each time: prepared (and authorized) every time
            cursor.execute(f"SELECT x FROM t WHERE x = {i % 500}").fetchall()
        else:  # the same text: served from the statement cache, authorized once
            cursor.execute("SELECT x FROM t WHERE x = ?", (i % 500,)).fetchall()
    return (time.perf_counter() - started) / QUERIES * 1e6


def sqlite_figures() -> dict[str, float]:
    figures = {
        "sqlite_setup_5_ext_ms": _median_ms(_sqlite_setup),
        "sqlite_setup_5_ext_first_query_each_ms": _median_ms(_sqlite_setup_and_first_queries),
    }
    provider = SqliteProvider()
    db = provider.for_extension("alpha")
    anyio.run(db.execute, "CREATE TABLE t (x INTEGER PRIMARY KEY)")
    with db.engine.begin() as conn:
        for i in range(500):
            conn.exec_driver_sql(f"INSERT INTO t VALUES ({i})")
    confined, bare = db.engine.raw_connection(), db.engine.raw_connection()
    bare.driver_connection.set_authorizer(None)  # type: ignore[union-attr]
    for distinct in (False, True):
        kind = "distinct_sql" if distinct else "cached_sql"
        with_auth = statistics.median(_per_query_us(confined, distinct) for _ in range(3))
        without = statistics.median(_per_query_us(bare, distinct) for _ in range(3))
        figures[f"sqlite_query_{kind}_authorizer_us"] = with_auth
        figures[f"sqlite_query_{kind}_no_authorizer_us"] = without
    bare.invalidate()
    confined.close()

    async def many() -> None:
        for i in range(2000):
            await db.fetch_all("SELECT x FROM t WHERE x = :x", {"x": i % 500})

    figures["sqlite_fetch_all_end_to_end_us"] = _median_ms(lambda: anyio.run(many), 3) / 2
    provider.close()
    return figures


def postgres_figures(admin: PgAdmin) -> dict[str, float]:
    def setup() -> None:
        provider = PostgresProvider(admin)
        for i in range(5):
            provider.for_extension(f"e{i}")
        provider.close()

    def create_only() -> None:
        PostgresProvider(admin).close()

    return {
        "postgres_create_and_drop_ms": _median_ms(create_only, 5),
        "postgres_setup_5_ext_and_close_ms": _median_ms(setup, 5),
    }


def main() -> None:
    figures = sqlite_figures()
    server = provision()
    if server is not None:
        with server:
            figures.update(postgres_figures(PgAdmin.of(server)))
    for key, value in figures.items():
        print(f"{key:45s} {value:10.2f}")


if __name__ == "__main__":
    main()
