"""Errors of the database backends beyond those the SDK and the v0 API define."""

from __future__ import annotations

from dufflebag_harness.sdk import ExtensionError

__all__ = ["StatementTimeout"]


class StatementTimeout(ExtensionError, TimeoutError):
    """The database cancelled a statement that ran longer than its statement timeout.

    A subclass of both the SDK's :class:`~dufflebag_harness.sdk.ExtensionError` and the
    built-in :class:`TimeoutError`, so extension code that imports only
    ``dufflebag_harness.sdk`` can still catch it; the database's own message is kept.
    """
