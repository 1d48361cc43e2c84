"""PostgreSQL's refusals in the SDK's words, for the worker-side PostgreSQL providers."""

from __future__ import annotations

import psycopg

from dufflebag_harness.inside.db._errors import StatementTimeout
from dufflebag_harness.inside.db._service import ErrorTranslator
from dufflebag_harness.sdk import DatabaseAccessError

__all__ = ["translator"]


def translator(schema: str) -> ErrorTranslator:
    """Map PostgreSQL's refusals to the SDK's errors, keeping the server's message."""

    def translate(exc: BaseException) -> Exception | None:
        if isinstance(exc, psycopg.errors.InsufficientPrivilege):
            return DatabaseAccessError(f"{schema}: {_message(exc)}")
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
            return StatementTimeout(f"{schema}: {_message(exc)}")
        return None

    return translate


def _message(exc: BaseException) -> str:
    return " ".join(str(exc).split())
