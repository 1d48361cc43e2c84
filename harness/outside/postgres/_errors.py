"""Why no PostgreSQL server could be provided.

Each provider that was tried leaves one :class:`ProviderFailure`; the exception
message lists them all so an operator sees at a glance what to fix (set a DSN,
start Docker, install the server binaries) instead of a bare "unavailable".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PostgresUnavailable", "ProviderError", "ProviderFailure"]


@dataclass(frozen=True)
class ProviderFailure:
    """One provider that did not yield a server, and why (never contains a password)."""

    provider: str
    reason: str

    def __str__(self) -> str:
        return f"{self.provider}: {self.reason}"


class PostgresUnavailable(Exception):
    """No provider could supply a PostgreSQL server.

    ``failures`` holds one entry per provider tried, in order; the message
    names each of them and its reason.
    """

    def __init__(self, failures: Iterable[ProviderFailure]) -> None:
        self.failures: tuple[ProviderFailure, ...] = tuple(failures)
        detail = "; ".join(str(f) for f in self.failures) or "no provider was tried"
        super().__init__(f"PostgreSQL unavailable: {detail}")


class ProviderError(Exception):
    """Raised inside a provider: it cannot supply a server; the message says why.

    Internal: :func:`dufflebag_harness.outside.postgres.provision` turns it into a
    :class:`ProviderFailure`.
    Messages never contain a password.
    """
