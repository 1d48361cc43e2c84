"""Build a host's database provider from the ``database`` argument of ``host.start``.

The parent decides (and provisions) the backend; the worker only connects
with what it is given. Shapes:

* ``{"backend": "sqlite", "key": "...", "statement_timeout_s": 5.0}`` — a
  private in-memory SQLite provider (``key`` and the timeout are optional);
* ``{"backend": "postgresql", "key": ..., "host": ..., "core": {...},
  "extensions": {...}, ...}`` — non-superuser logins for a database the parent
  created (see :mod:`dufflebag_harness.inside.db.pg_grants`); never an admin password.

Providers built with a ``key`` are remembered (weakly, until closed) so the
worker's database probes can find the database of a running host by the key
the parent knows, without reaching into the host.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.inside.db import DatabaseProvider

__all__ = ["DatabaseArgsError", "lookup", "provider_from_args"]

_registry: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
_lock = threading.Lock()


class DatabaseArgsError(ValueError):
    """The ``database`` argument names an unknown backend or lacks a field."""


def provider_from_args(args: Mapping[str, Any] | None) -> DatabaseProvider:
    """The provider ``args`` describe; :class:`DatabaseArgsError` names what is wrong."""
    spec = dict(args or {"backend": "sqlite"})
    backend = spec.get("backend", "sqlite")
    key = spec.get("key")
    if key is not None and (not isinstance(key, str) or not key):
        raise DatabaseArgsError("database.key: must be a non-empty string")
    provider: DatabaseProvider
    if backend in ("sqlite", "mock"):
        from dufflebag_harness.inside.db import SqliteProvider

        timeout = spec.get("statement_timeout_s")
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, int | float) or timeout <= 0):
            raise DatabaseArgsError("database.statement_timeout_s: must be a positive number")
        provider = SqliteProvider(statement_timeout=None if timeout is None else float(timeout))
    elif backend == "postgresql":
        from dufflebag_harness.inside.db.pg_grants import GrantsError, PgGrantedProvider, PgGrants

        try:
            grants = PgGrants.from_args(spec)
        except GrantsError as exc:
            raise DatabaseArgsError(str(exc)) from None
        provider = PgGrantedProvider(grants)
    else:
        raise DatabaseArgsError(f"database backend {backend!r} is not available in the worker")
    if key is not None:
        with _lock:
            _registry[key] = provider
    return provider


def lookup(key: str) -> DatabaseProvider:
    """The open provider built for ``key`` (KeyError when unknown or already closed)."""
    with _lock:
        provider = _registry.get(key)
    if provider is None or getattr(provider, "closed", False) is True:
        raise KeyError(f"no open database {key!r} in this worker")
    found: DatabaseProvider = provider
    return found
