"""Database probes: what the database checks need done or read inside the worker.

Two kinds. Some *drive*: apply, revert or break migrations, run a query that
never ends — the parent then judges the effect from outside on PostgreSQL
(its admin connection) and only trusts these replies for evidence. Others
*read* (structure, digests, rows): the parent uses them only for the SQLite
backend, whose in-memory databases live in this process, and marks those
results self-reported.

A database is named by the ``key`` the parent put into its ``database``
argument: a running host's (``dufflebag_harness.inside.worker._databases.lookup``) or a
scratch database opened here with ``db.open`` (kept until ``db.close``).
Schema names are the host's: ``core`` for the host's tables, ``ext_{name}``
for an extension's; table names are used unqualified on the engine of that
schema, so the same probe works on both backends.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dufflebag_harness.inside.db import (
    DatabaseProvider,
    ExtensionDatabase,
    MigrationError,
    StatementTimeout,
)
from dufflebag_harness.inside.db.migrations import checksum
from dufflebag_harness.inside.worker._databases import DatabaseArgsError, lookup, provider_from_args
from dufflebag_harness.sdk import DatabaseAccessError, Migration
from dufflebag_harness.shared.values import plain

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["ENDLESS_QUERY", "INJECTED_TABLE", "PROBES"]

#: Runs until something stops it, on SQLite and PostgreSQL alike.
ENDLESS_QUERY = (
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) AS n FROM t"
)
#: The table the harness's injected failing migration creates before it fails.
INJECTED_TABLE = "dufflebag_injected"
_ROW_LIMIT = 1000
_scratch: dict[str, DatabaseProvider] = {}


def _error(kind: str, message: str) -> Exception:
    from dufflebag_harness.inside.worker._server import OpError

    return OpError(kind, message)


def _provider(args: dict[str, Any]) -> DatabaseProvider:
    key = str(args.get("database", ""))
    found = _scratch.get(key)
    if found is not None:
        return found
    try:
        return lookup(key)
    except KeyError as exc:
        raise _error("UnknownDatabase", str(exc.args[0])) from None


def _schema_engine(provider: DatabaseProvider, schema: str) -> Engine:
    """The engine whose default schema is ``schema`` (``core`` or ``ext_{name}``)."""
    if schema == "core":
        return provider.core_engine()
    if schema.startswith("ext_"):
        return provider.for_extension(schema[4:]).engine
    raise _error("BadSchema", f"schema {schema!r} is neither core nor ext_{{name}}")


def _sqlite_only(provider: DatabaseProvider, what: str) -> None:
    if provider.backend != "sqlite":
        raise _error("WrongBackend", f"{what} is read by the parent on {provider.backend}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(conn: sa.Connection) -> list[tuple[str, str, str | None]]:
    rows = conn.exec_driver_sql(
        "SELECT type, name, sql FROM main.sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "ORDER BY type, name"
    ).all()
    return [(str(t), str(n), None if s is None else str(s)) for t, n, s in rows]


# -- opening and closing scratch databases ------------------------------------

def probe_open(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Open a scratch database the parent provisioned (or a private SQLite one)."""
    spec = dict(args.get("spec") or {})
    key = spec.get("key")
    if not isinstance(key, str) or not key:
        raise _error("BadDatabase", "database.key: a scratch database needs a key")
    try:
        _scratch[key] = provider_from_args(spec)
    except DatabaseArgsError as exc:
        raise _error("BadDatabase", str(exc)) from None
    return {"database": key, "backend": _scratch[key].backend}


def probe_close(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    provider = _scratch.pop(str(args.get("database", "")), None)
    if provider is not None:
        provider.close()
    return {"closed": provider is not None}


# -- reading (SQLite) ------------------------------------------------------------

def probe_structure(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Tables with column descriptions, and indexes/views/triggers with their SQL."""
    provider = _provider(args)
    _sqlite_only(provider, "structure")
    tables: dict[str, dict[str, str]] = {}
    objects: dict[str, str] = {}
    with _schema_engine(provider, str(args["schema"])).connect() as conn:
        for kind, name, text in _tables(conn):
            if kind != "table":
                objects[f"{kind} {name}"] = text or ""
                continue
            columns: dict[str, str] = {}
            info = conn.exec_driver_sql(f"PRAGMA main.table_info({_quote(name)})").all()
            for _cid, column, ctype, notnull, default, pk in info:
                desc = str(ctype) + (" NOT NULL" if notnull else "")
                desc += f" DEFAULT {default}" if default is not None else ""
                columns[str(column)] = desc + (f" PRIMARY KEY {pk}" if pk else "")
            tables[name] = columns
    return {"tables": tables, "objects": objects}


def probe_digests(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Each table's row count and a digest of its sorted rows."""
    provider = _provider(args)
    _sqlite_only(provider, "digests")
    out: dict[str, str] = {}
    with _schema_engine(provider, str(args["schema"])).connect() as conn:
        for kind, name, _ in _tables(conn):
            if kind != "table":
                continue
            rows = sorted(json.dumps(plain(list(r)), sort_keys=True)
                          for r in conn.exec_driver_sql(f"SELECT * FROM main.{_quote(name)}"))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            out[name] = f"rows:{len(rows)} sha256:{digest}"
    return {"digests": out}


def probe_rows(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    provider = _provider(args)
    table = str(args["table"])
    with _schema_engine(provider, str(args["schema"])).connect() as conn:
        result = conn.exec_driver_sql(
            f"SELECT * FROM {_quote(table)} ORDER BY 1 LIMIT {_ROW_LIMIT}")
        names = list(result.keys())
        rows = [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in result]
    return {"rows": rows}


def probe_insert(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Insert one row as the host (checks plant canaries with it)."""
    provider = _provider(args)
    row = dict(args["row"])
    columns = list(row)
    statement = sa.text(
        f"INSERT INTO {_quote(str(args['table']))} ({', '.join(_quote(c) for c in columns)}) "
        f"VALUES ({', '.join(f':p{i}' for i in range(len(columns)))})")
    params = {f"p{i}": row[c] for i, c in enumerate(columns)}
    with _schema_engine(provider, str(args["schema"])).begin() as conn:
        conn.execute(statement, params)
    return {"inserted": 1}


# -- driving through the extension's own database service ---------------------------

def _extension_db(provider: DatabaseProvider, name: str) -> ExtensionDatabase:
    try:
        return provider.for_extension(name)
    except (LookupError, ValueError) as exc:
        raise _error("UnknownExtension", str(exc)) from None


def probe_attempt(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Run each statement through the extension's own database service; report the answer."""
    db = _extension_db(_provider(args), str(args["extension"]))
    out = []
    for statement in args.get("statements", []):
        outcome: dict[str, Any] = {"sql": statement, "ok": True, "denied": False,
                                   "error_type": None, "message": ""}
        try:
            server.loop.run(db.fetch_all(str(statement)), timeout=30)
        except Exception as exc:
            outcome.update(ok=False, denied=isinstance(exc, DatabaseAccessError),
                           error_type=type(exc).__name__,
                           message=" ".join(str(exc).split())[:500])
        out.append(outcome)
    return {"attempts": out}


def _failing(migrations: Sequence[Migration]) -> Migration:
    version = max((m.version for m in migrations), default=0) + 1
    return Migration(
        version=version,
        description="injected by the harness: fails at its third statement",
        up=(f"CREATE TABLE {INJECTED_TABLE} (id INTEGER);\n"
            f"INSERT INTO {INJECTED_TABLE} (id) VALUES (1);\n"
            f"INSERT INTO {INJECTED_TABLE}_missing (id) VALUES (1)"),
        down=f"DROP TABLE {INJECTED_TABLE}",
    )


def _edited(migrations: Sequence[Migration]) -> list[Migration]:
    *rest, last = migrations
    return [*rest, Migration(last.version, last.description,
                             last.up + "\n-- edited after it was applied\n", last.down)]


def probe_migrate(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Apply (``up``), revert (``down``), break (``up_failing``) or edit (``up_edited``).

    ``up_failing`` appends a migration that creates a table, inserts a row
    and then fails; ``up_edited`` changes the text of the newest migration.
    """
    name, action = str(args["extension"]), str(args["action"])
    if action not in ("up", "down", "up_failing", "up_edited"):
        raise _error("BadAction", f"unknown migration action {action!r}")
    migrations = list(getattr(server.loaded(name).cls, "migrations", ()) or ())
    db = _extension_db(_provider(args), name)
    out: dict[str, Any] = {"action": action, "ok": True, "applied": [], "error": None,
                           "declared": [m.version for m in migrations],
                           "descriptions": [{"version": m.version, "description": m.description}
                                            for m in migrations]}
    t0 = time.perf_counter()
    try:
        if action == "up":
            out["applied"] = db.migrate(migrations)
        elif action == "down":
            out["applied"] = db.downgrade(migrations, int(args.get("to_version", 0)))
        elif action == "up_failing":
            failing = _failing(migrations)
            out["injected"] = failing.version
            out["applied"] = db.migrate([*migrations, failing])
        elif action == "up_edited":
            if not migrations:
                out["skipped"] = "the extension declares no migrations"
                return out
            out["edited"] = migrations[-1].version
            out["applied"] = db.migrate(_edited(migrations))
    except MigrationError as exc:
        out.update(ok=False, error={"type": "MigrationError", "version": exc.version,
                                    "message": " ".join(str(exc).split())[:2000]})
    except Exception as exc:
        out.update(ok=False, error={"type": type(exc).__name__, "version": None,
                                    "message": " ".join(str(exc).split())[:2000]})
    out["duration_s"] = round(time.perf_counter() - t0, 4)
    return out


def probe_endless(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Send a query that never ends through the extension's service; it must be cancelled."""
    db = _extension_db(_provider(args), str(args["extension"]))
    limit = float(args.get("wait_s", 30.0))
    out: dict[str, Any] = {"query": ENDLESS_QUERY, "error_type": None, "message": ""}
    t0 = time.perf_counter()
    try:
        server.loop.run(db.fetch_all(ENDLESS_QUERY), timeout=limit)
        out["message"] = "the query returned a result"
    except StatementTimeout as exc:  # before TimeoutError: it is one
        out.update(error_type="StatementTimeout", message=" ".join(str(exc).split())[:500])
    except TimeoutError:
        out.update(error_type="NotCancelled", message=f"still running after {limit:g} s")
    except Exception as exc:
        out.update(error_type=type(exc).__name__, message=" ".join(str(exc).split())[:500])
    out["elapsed_s"] = round(time.perf_counter() - t0, 3)
    try:
        rows = server.loop.run(db.fetch_all("SELECT 1 AS ok"), timeout=30)
        out["after"] = "ok" if rows == [{"ok": 1}] else f"unexpected {rows!r}"
    except Exception as exc:
        out["after"] = f"{type(exc).__name__}: {exc}"
    return out


def probe_busy(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """How many of the extension's pooled connections are checked out right now."""
    db = _extension_db(_provider(args), str(args["extension"]))
    pool = db.engine.pool
    checked_out = getattr(pool, "checkedout", None)
    return {"checked_out": int(checked_out()) if callable(checked_out) else 0}


# -- migration texts across imports ---------------------------------------------

def _texts(migrations: Sequence[Migration]) -> list[dict[str, Any]]:
    return [{"version": m.version, "up": checksum(m),
             "down": "sha256:" + hashlib.sha256(m.down.encode()).hexdigest()}
            for m in migrations]


def _reimported(cls: type) -> type:
    """``cls`` from a fresh import of its whole package (module-level code runs again).

    The package's modules are set aside and restored afterwards, so running
    hosts keep the classes they were built from.
    """
    top = cls.__module__.split(".")[0]

    def ours() -> list[str]:
        return [n for n in sys.modules if n == top or n.startswith(top + ".")]

    saved = {n: sys.modules.pop(n) for n in ours()}
    try:
        found: Any = importlib.import_module(cls.__module__)
        for part in cls.__qualname__.split("."):
            found = getattr(found, part)
        if not isinstance(found, type):
            raise TypeError(f"{cls.__qualname__} is not a class after a fresh import")
        return found
    finally:
        for name in ours():
            del sys.modules[name]
        sys.modules.update(saved)


def probe_migration_texts(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Checksums of the migrations as loaded, and as a fresh import of the package gives them."""
    cls = server.loaded(str(args["extension"])).cls
    out: dict[str, Any] = {"here": _texts(list(getattr(cls, "migrations", ()) or ())),
                           "fresh": None, "error": None}
    try:
        fresh = _reimported(cls)
        out["fresh"] = _texts(list(getattr(fresh, "migrations", ()) or ()))
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:2000]
    return out


PROBES: dict[str, Callable[[WorkerServer, dict[str, Any]], dict[str, Any]]] = {
    "db.open": probe_open,
    "db.close": probe_close,
    "db.structure": probe_structure,
    "db.digests": probe_digests,
    "db.rows": probe_rows,
    "db.insert": probe_insert,
    "db.attempt": probe_attempt,
    "db.migrate": probe_migrate,
    "db.endless": probe_endless,
    "db.busy": probe_busy,
    "db.migration_texts": probe_migration_texts,
}
