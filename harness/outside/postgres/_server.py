"""A provisioned PostgreSQL server and the admin credentials to reach it.

The object owns the server's lifetime: ``close()`` (or leaving the ``with``
block, or interpreter exit, or the object being garbage collected) stops what
the provider started. A server reached through a DSN is someone else's and is
never stopped, only forgotten.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from types import TracebackType
from urllib.parse import quote

__all__ = ["PgServer", "format_version"]


def format_version(server_version_num: int) -> str:
    """Turn libpq's integer version (150018) into the familiar "15.18"."""
    major = server_version_num // 10000
    if major >= 10:
        return f"{major}.{server_version_num % 10000}"
    return f"{major}.{(server_version_num // 100) % 100}.{server_version_num % 100}"


class PgServer:
    """Connection facts of one server plus the means to release it.

    ``host`` is a hostname/IP, or the socket directory (an absolute path) for
    a unix-socket-only cluster; libpq and psycopg accept either as ``host``.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str,
        password: str,
        dbname: str,
        version: str,
        provider: str,
        stop: Callable[[], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.dbname = dbname
        self.version = version
        self.provider = provider
        # `stop` must not reference `self`, or the finalizer would keep it alive.
        self._finalizer = weakref.finalize(self, stop) if stop is not None else None

    @property
    def admin_dsn(self) -> str:
        """A libpq URI for the admin role (contains the password: do not log it)."""
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        db = quote(self.dbname, safe="")
        if self.host.startswith("/"):
            return f"postgresql://{auth}/{db}?host={quote(self.host, safe='')}&port={self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{auth}{host}:{self.port}/{db}"

    @property
    def closed(self) -> bool:
        """True once ``close()`` ran (always False for a DSN server, which we never stop)."""
        return self._finalizer is not None and not self._finalizer.alive

    def close(self) -> None:
        """Stop and remove what the provider started. Safe to call more than once."""
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> PgServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"PgServer(provider={self.provider!r}, host={self.host!r}, port={self.port}, "
            f"user={self.user!r}, dbname={self.dbname!r}, version={self.version!r})"
        )
