"""Judging a host's PostgreSQL database from outside the worker.

Checks must not believe what the worker says about the database: extension
code runs there. :class:`PgInspector` reads the database over the parent's
own admin connection (catalog structure, table contents, running queries) and
can act *as an extension's role* with the credentials the parent created, so
"permission denied" is heard from the server itself.

Every method opens a short connection of its own (a few milliseconds on a
local socket): nothing stays open between calls, nothing is shared with the
worker's pools. Results are plain JSON-able data, the same shapes the
worker's SQLite probes return (``dufflebag_harness.inside.worker._db_probes``), so a check
compares like with like on either backend:

* ``structure(schema)`` → ``{"tables": {table: {column: description}},
  "objects": {"index name": definition, ...}}``
* ``digests(schema)`` → ``{table: "rows:<n> md5:<hex>"}``
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from dufflebag_harness.shared.postgres import CONNECT_TIMEOUT_S, PgAdmin, PgGrants
from dufflebag_harness.shared.values import plain

__all__ = ["PgInspector"]

_ROW_LIMIT = 1000

_COLUMNS = """
SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod),
       a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'f')
ORDER BY c.relname, a.attnum
"""
_OBJECTS = """
SELECT 'index ' || indexname, indexdef FROM pg_indexes WHERE schemaname = %(s)s
UNION ALL
SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view '
                      WHEN 'S' THEN 'sequence ' ELSE 'type ' END || c.relname,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE '' END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(s)s AND c.relkind IN ('v', 'm', 'S', 'c')
UNION ALL
SELECT 'constraint ' || cl.relname || '.' || co.conname, pg_get_constraintdef(co.oid)
FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
JOIN pg_namespace n ON n.oid = co.connamespace WHERE n.nspname = %(s)s
UNION ALL
SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       md5(coalesce(p.prosrc, ''))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s
UNION ALL
SELECT 'trigger ' || cl.relname || '.' || t.tgname, pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE n.nspname = %(s)s AND NOT t.tgisinternal
UNION ALL
SELECT 'type ' || t.typname, t.typtype::text
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname = %(s)s AND t.typtype IN ('e', 'd')
"""
_TABLES = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname
"""
_ACTIVE = """
SELECT pid, EXTRACT(EPOCH FROM clock_timestamp() - query_start)::float8, left(query, 500)
FROM pg_stat_activity
WHERE datname = %s AND usename = %s AND state = 'active'
  AND clock_timestamp() - query_start > make_interval(secs => %s)
ORDER BY query_start
"""


def _column(kind: str, notnull: bool, default: str | None) -> str:
    text = kind + (" NOT NULL" if notnull else "")
    return text + (f" DEFAULT {default}" if default is not None else "")


class PgInspector:
    """The parent's view of one host's database (see the module docstring)."""

    def __init__(self, admin: PgAdmin, grants: PgGrants) -> None:
        self._admin = admin
        self._grants = grants

    @property
    def backend(self) -> str:
        return "postgresql"

    @property
    def key(self) -> str:
        return self._grants.key

    @contextmanager
    def _admin_conn(self) -> Iterator[psycopg.Connection[Any]]:
        with self._admin.connect(self._grants.dbname) as conn:
            yield conn

    def structure(self, schema: str) -> dict[str, Any]:
        """Tables with their columns, and every other object of ``schema`` with its definition."""
        tables: dict[str, dict[str, str]] = {}
        objects: dict[str, str] = {}
        with self._admin_conn() as conn:
            for table, _kind, column, kind, notnull, default in conn.execute(_COLUMNS, (schema,)):
                tables.setdefault(table, {})[column] = _column(kind, notnull, default)
            for name, definition in conn.execute(_OBJECTS, {"s": schema}):
                objects[name] = definition or ""
        return {"tables": tables, "objects": objects}

    def digests(self, schema: str) -> dict[str, str]:
        """Each table's row count and a digest of its sorted rows (to see any change)."""
        out: dict[str, str] = {}
        with self._admin_conn() as conn:
            tables = [r[0] for r in conn.execute(_TABLES, (schema,))]
            for table in tables:
                query = sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' "
                    "ORDER BY t::text), '')) FROM {}.{} AS t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
                row = conn.execute(query).fetchone()
                count, digest = row if row is not None else (0, "")
                out[table] = f"rows:{count} md5:{digest}"
        return out

    def rows(self, schema: str, table: str) -> list[dict[str, Any]]:
        """Up to 1,000 rows of ``schema.table`` as dicts, in the table's first column's order."""
        query = sql.SQL("SELECT * FROM {}.{} ORDER BY 1 LIMIT {}").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Literal(_ROW_LIMIT))
        with self._admin_conn() as conn:
            cur = conn.execute(query)
            names = [d.name for d in cur.description or ()]
            return [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in cur]

    def insert(self, schema: str, table: str, row: Mapping[str, Any]) -> None:
        """Insert one row as the admin (checks plant canaries with it)."""
        columns = list(row)
        query = sql.SQL("INSERT INTO {}.{} ({}) VALUES ({})").format(
            sql.Identifier(schema), sql.Identifier(table),
            sql.SQL(", ").join(sql.Identifier(c) for c in columns),
            sql.SQL(", ").join(sql.Placeholder() for _ in columns))
        with self._admin_conn() as conn:
            conn.execute(query, [row[c] for c in columns])

    def attempt(self, extension: str, statements: Sequence[str]) -> list[dict[str, Any]]:
        """Run each statement as ``extension``'s own role, rolled back; report the server's answer.

        ``denied`` is true when the server refused with SQLSTATE 42501
        (insufficient privilege).
        """
        grant = self._grants.extensions.get(extension)
        if grant is None:
            raise LookupError(f"no role was provisioned for extension {extension!r}")
        g = self._grants
        out: list[dict[str, Any]] = []
        with psycopg.connect(host=g.host, port=g.port, dbname=g.dbname, user=grant.user,
                             password=grant.password, connect_timeout=CONNECT_TIMEOUT_S,
                             autocommit=True) as conn:
            for statement in statements:
                outcome: dict[str, Any] = {"sql": statement, "ok": True, "denied": False,
                                           "sqlstate": None, "message": ""}
                try:
                    with conn.transaction(force_rollback=True):
                        conn.execute(statement)
                except psycopg.Error as exc:
                    outcome.update(ok=False, sqlstate=exc.sqlstate,
                                   denied=exc.sqlstate == "42501",
                                   message=" ".join(str(exc).split())[:500])
                out.append(outcome)
        return out

    def long_running(self, extension: str, seconds: float) -> list[dict[str, Any]]:
        """Statements of ``extension``'s role active for longer than ``seconds`` right now."""
        grant = self._grants.extensions.get(extension)
        if grant is None:
            raise LookupError(f"no role was provisioned for extension {extension!r}")
        with self._admin_conn() as conn:
            rows = conn.execute(_ACTIVE, (self._grants.dbname, grant.user, float(seconds)))
            return [{"pid": pid, "seconds": round(secs, 2), "query": query}
                    for pid, secs, query in rows]
