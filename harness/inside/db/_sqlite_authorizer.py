"""The ``sqlite3`` authorizer that confines an extension's connection to its own database.

SQLite consults the authorizer while it *prepares* each statement, for every
table, column, pragma and function the statement touches, naming the
database (``main``, ``temp``, or an attached name). An extension's
connection has its own database as ``main``; the host's ``core`` database and
the other extensions' databases are attached so that a qualified reference
to them reaches this function and is denied with SQLite's own error (``not
authorized`` / ``access to core.users.id is prohibited``, SQLITE_AUTH) rather
than resolving silently or to nothing.

The policy never answers ``SQLITE_IGNORE``: on a read that silently turns
columns into NULL instead of failing.
"""

from __future__ import annotations

import sqlite3

__all__ = ["OWN_DATABASES", "authorize", "is_denial"]

OWN_DATABASES = frozenset({"main", "temp"})
"""Database names an extension's statements may touch: its own and its temp space."""

_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer"})
"""Functions that reach outside SQL: loading native code, registering C pointers."""

# PRAGMAs that, written without a schema, act on the connection or on ``main``
# only. Every other pragma must name ``main`` or ``temp`` explicitly, because
# unqualified it would search or change every attached database
# (``table_info``, ``index_list``, ``integrity_check``, ``journal_mode``, ...).
_UNQUALIFIED_PRAGMAS = frozenset(
    {
        "analysis_limit",
        "application_id",
        "auto_vacuum",
        "automatic_index",
        "busy_timeout",
        "cache_size",
        "cache_spill",
        "case_sensitive_like",
        "cell_size_check",
        "collation_list",
        "compile_options",
        "data_version",
        "defer_foreign_keys",
        "encoding",
        "foreign_keys",
        "freelist_count",
        "function_list",
        "ignore_check_constraints",
        "legacy_alter_table",
        "max_page_count",
        "module_list",
        "page_count",
        "page_size",
        "pragma_list",
        "query_only",
        "read_uncommitted",
        "recursive_triggers",
        "reverse_unordered_selects",
        "temp_store",
        "trusted_schema",
        "user_version",
    }
)

_OK = sqlite3.SQLITE_OK
_DENY = sqlite3.SQLITE_DENY


def authorize(
    action: int, arg1: str | None, arg2: str | None, db_name: str | None, source: str | None
) -> int:
    """Allow what stays in the extension's own database; deny everything else.

    ``source`` (the trigger or view a check comes from) does not matter: a
    temporary view over ``core`` can be created, but reading through it is
    checked against ``core`` and denied.
    """
    if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH):
        return _DENY  # also covers VACUUM INTO, which SQLite authorizes as an ATTACH
    if db_name is not None and db_name not in OWN_DATABASES:
        return _DENY
    if action == sqlite3.SQLITE_PRAGMA:
        pragma = (arg1 or "").lower()
        if pragma == "database_list":
            return _DENY  # would reveal the other databases' names
        if db_name is None and pragma not in _UNQUALIFIED_PRAGMAS:
            return _DENY
    elif action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in _DENIED_FUNCTIONS:
        return _DENY
    return _OK


def is_denial(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite refusing a statement because :func:`authorize` denied it."""
    if not isinstance(exc, sqlite3.Error):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_AUTH:
        return True
    # A denied function is reported as a plain SQLITE_ERROR
    # ("not authorized to use function: load_extension").
    return code == sqlite3.SQLITE_ERROR and str(exc).startswith("not authorized")
