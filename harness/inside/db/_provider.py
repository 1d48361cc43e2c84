"""What every database provider does the same way, whatever its backend.

Each extension's database is made once, under the provider's lock, after the
request was checked and only while the provider is open; closing is idempotent
and disposes every engine before the backend releases what it holds. The
backends differ only in making a database (:meth:`ProviderBase._create`) and in
what is left to release (:meth:`ProviderBase._release`).
"""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from dufflebag_harness.inside.db._api import check_request
from dufflebag_harness.inside.db._service import IsolatedDatabase

__all__ = ["ProviderBase"]


class ProviderBase:
    """The bookkeeping of a :class:`~dufflebag_harness.inside.db.DatabaseProvider`."""

    _core: Engine

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False
        self._extensions: dict[str, IsolatedDatabase] = {}

    @property
    def closed(self) -> bool:
        return self._closed

    def for_extension(self, name: str, *, pool_size: int = 5) -> IsolatedDatabase:
        """The database of extension ``name``, made on first request."""
        check_request(name, pool_size)
        with self._lock:
            self._check_open()
            db = self._extensions.get(name)
            if db is None:
                db = self._extensions[name] = self._create(name, pool_size)
            return db

    def close(self) -> None:
        """Dispose every engine, then release what the backend holds; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            extensions = list(self._extensions.values())
        for db in extensions:
            db.dispose()
        self._core.dispose()
        self._release()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"this {self._label()} is closed")

    def _label(self) -> str:
        raise NotImplementedError

    def _create(self, name: str, pool_size: int) -> IsolatedDatabase:
        """Make the database of ``name`` (called once, holding the lock)."""
        raise NotImplementedError

    def _release(self) -> None:
        """Release what the backend holds beyond the engines (nothing by default)."""
