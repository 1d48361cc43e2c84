"""Build a host's database provider from the ``database`` argument of ``host.start``.

The parent decides (and provisions) the backend; the worker only connects
with what it is given. Version 0 shapes:

* ``{"backend": "sqlite"}`` — a private in-memory SQLite provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.db import DatabaseProvider


class DatabaseArgsError(ValueError):
    """The ``database`` argument names an unknown backend or lacks a field."""


def provider_from_args(args: Mapping[str, Any] | None) -> DatabaseProvider:
    spec = dict(args or {"backend": "sqlite"})
    backend = spec.get("backend", "sqlite")
    if backend in ("sqlite", "mock"):
        from harness.db import SqliteProvider

        return SqliteProvider()
    raise DatabaseArgsError(f"database backend {backend!r} is not available in the worker")
