"""Helpers shared by the database tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import pytest
import sqlalchemy as sa

from dufflebag_harness.inside.db import ExtensionDatabase, PostgresProvider, SqliteProvider

T = TypeVar("T")

Provider = SqliteProvider | PostgresProvider
Ext = tuple[Provider, ExtensionDatabase]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]

# Words each database uses when it refuses access (its own message, not ours).
DENIAL_WORDS = {
    "sqlite": ("not authorized", "prohibited"),
    "postgresql": ("permission denied",),
}


def run(func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run one coroutine function to completion (the tests stay synchronous)."""
    return anyio.run(func, *args)


def host_rows(provider: Provider, sql: str) -> list[tuple[Any, ...]]:
    """Rows as the host sees them through its own (unrestricted) core engine."""
    with provider.core_engine().connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def host_execute(provider: Provider, *statements: str) -> None:
    """Run statements as the host, committed."""
    with provider.core_engine().begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))


def host_tables(provider: Provider, schema: str) -> set[str]:
    """Tables the host sees in ``schema`` (an extension's ``ext_{name}``)."""
    with provider.core_engine().connect() as conn:
        return set(sa.inspect(conn).get_table_names(schema=schema))
