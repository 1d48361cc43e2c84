"""IS-01 and DB — the extension's database: isolation, migrations, runaway queries.

Each check runs on SQLite and on PostgreSQL. On PostgreSQL the parent judges
from outside: it reads the database over its own admin connection and tries
cross-schema SQL as the extension's own role, so what the worker (running
extension code) says decides nothing. On SQLite the databases live in the
worker's memory, so reads are probes and the result is marked self-reported.

Migrations are exercised on *scratch* databases (no host, no extension code
running) and on live hosts; what a check compares is always the schema's
structure (tables, columns, indexes, views, sequences, functions, triggers)
and the ``ext_migrations`` tracking rows, read the same way before and after.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import time
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.conformance._probing import require_loaded
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._routes import calls, route_table
from dufflebag_harness.conformance._types import (
    REQUIRED,
    CheckContext,
    CheckFailed,
    DatabaseView,
    HostHandle,
)

BACKENDS = ("sqlite", "postgresql")
TRACKING = "ext_migrations"
#: Checks that need the extension's migrations to apply on the pair's backend first.
AFTER_MIGRATIONS = ("LC-01", "LC-03", "DB-01")
#: Statement timeout of the hosts the runaway-query check starts (seconds).
SHORT_TIMEOUT_S = 1.0
_CHECKSUM = re.compile(r"^sha256:[0-9a-f]{64}$")
_BODY_CHARS = 50_000


# -- shared steps -----------------------------------------------------------------

def _exercise(host: HostHandle, name: str) -> list[dict[str, Any]]:
    """Call every route of ``name`` with every method it was registered with, each as a
    seeded user the route admits, so the handlers (not the host's 403) touch the database.
    Routes no seeded user is admitted to are sent too: their middleware and hooks run."""
    seen = []
    for call in calls(route_table(host, name), refused_too=True):
        r = call.send(host)
        seen.append({"request": call.label, "status": r.status_code,
                     "body": r.text[:_BODY_CHARS]})
    return seen


def _schema(name: str) -> str:
    return f"ext_{name}"


def _without_tracking(structure: Mapping[str, Any]) -> dict[str, Any]:
    """The structure minus the tracking table (which migrating creates and keeps)."""
    tables = {t: c for t, c in structure.get("tables", {}).items() if t != TRACKING}
    objects = {k: v for k, v in structure.get("objects", {}).items() if TRACKING not in k}
    return {"tables": tables, "objects": objects}


def _diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What differs between two structures, in words ("+table t", "~column t.c", ...)."""
    out: list[str] = []
    bt, at = before.get("tables", {}), after.get("tables", {})
    out += [f"+table {t}" for t in sorted(at.keys() - bt.keys())]
    out += [f"-table {t}" for t in sorted(bt.keys() - at.keys())]
    for t in sorted(at.keys() & bt.keys()):
        bc, ac = bt[t], at[t]
        out += [f"+column {t}.{c}" for c in sorted(ac.keys() - bc.keys())]
        out += [f"-column {t}.{c}" for c in sorted(bc.keys() - ac.keys())]
        out += [f"~column {t}.{c}: {bc[c]} -> {ac[c]}" for c in sorted(ac.keys() & bc.keys())
                if ac[c] != bc[c]]
    bo, ao = before.get("objects", {}), after.get("objects", {})
    out += [f"+{k}" for k in sorted(ao.keys() - bo.keys())]
    out += [f"-{k}" for k in sorted(bo.keys() - ao.keys())]
    out += [f"~{k}" for k in sorted(ao.keys() & bo.keys()) if ao[k] != bo[k]]
    return out


def _tracking(view: DatabaseView, name: str) -> list[dict[str, Any]]:
    if TRACKING not in view.structure(_schema(name)).get("tables", {}):
        return []
    return view.rows(_schema(name), TRACKING)


def _require_ok(outcome: Mapping[str, Any], what: str) -> None:
    if not outcome.get("ok"):
        error = outcome.get("error") or {}
        raise CheckFailed(f"{what} failed: {error.get('message', 'no reason given')}",
                          {"migration": dict(outcome)})


def _declared(view: DatabaseView, name: str) -> list[int]:
    """Apply the extension's migrations to a scratch database; the versions it declares."""
    outcome = view.migrate(name, "up")
    _require_ok(outcome, "applying the migrations")
    return [int(v) for v in outcome.get("declared", [])]


# -- IS-01 ---------------------------------------------------------------------------

def _cross_schema_sql(other: str) -> list[str]:
    """Statements that must be refused; the writes change nothing even if allowed."""
    theirs = f"{_schema(other)}.items"
    return [
        "SELECT * FROM core.host_users",
        "UPDATE core.host_users SET roles = roles WHERE 1 = 0",
        f"SELECT * FROM {theirs}",
        f"DELETE FROM {theirs} WHERE 1 = 0",
        "CREATE TABLE core.dufflebag_intruder (x INTEGER)",
    ]


@check(id="IS-01",
       title="The extension's database cannot read or write other extensions' schemas or "
             "the core tables",
       requires=("REQ-1.3", "REQ-1.5"), severity=REQUIRED, backends=BACKENDS,
       blocked_by=AFTER_MIGRATIONS, profiles=("full",))
def database_isolated(ctx: CheckContext) -> None:
    """Use only `services.database`, unqualified SQL, your own tables. Never dig another
    connection out of the process (gc, sys.modules, the host's objects): the host's users
    and other extensions' data are not yours to read or write."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other])
    require_loaded(host, ctx.extension)
    db = ctx.database(host)
    user, item = f"canary{secrets.token_hex(8)}", f"canary{secrets.token_hex(8)}"
    db.insert("core", "host_users", {"id": 900_000 + secrets.randbelow(99_999),
                                     "username": user, "email": f"{user}@example.invalid",
                                     "password_hash": None, "roles": "user"})
    db.insert(_schema(other), "items", {"id": secrets.token_hex(16), "value": json.dumps(item)})
    watched = ("core", _schema(other))
    before = {s: db.digests(s) for s in watched}
    responses = _exercise(host, ctx.extension)
    after = {s: db.digests(s) for s in watched}
    problems: list[str] = []
    leaks = [{"request": r["request"], "found": where}
             for r in responses
             for secret, where in ((user, "core.host_users"), (item, f"{_schema(other)}.items"))
             if secret in r["body"]]
    if leaks:
        problems.append(f"a row planted in {leaks[0]['found']} appeared in the answer to "
                        f"{leaks[0]['request']}"
                        + (f" (and {len(leaks) - 1} more)" if len(leaks) > 1 else ""))
    changed = [f"{s}.{t}" for s in watched
               for t in sorted(before[s].keys() | after[s].keys())
               if before[s].get(t) != after[s].get(t)]
    if changed:
        problems.append(f"tables outside the extension's schema changed while it was "
                        f"exercised: {', '.join(changed)}")
    attempts = db.attempt(ctx.extension, _cross_schema_sql(other))
    allowed = [a["sql"] for a in attempts if not a["denied"]]
    if allowed:
        problems.append(f"the database did not refuse {len(allowed)} cross-schema "
                        f"statement(s) through the extension's own connection, e.g. "
                        f"{allowed[0]!r}")
    if problems:
        raise CheckFailed("; ".join(problems), {
            "leaked_in": leaks, "changed_tables": changed, "attempts": attempts,
            "requests": [{k: r[k] for k in ("request", "status")} for r in responses]})


# -- DB-01 .. DB-05 ----------------------------------------------------------------------

@check(id="DB-01", title="Migrations apply and are tracked in ext_migrations",
       requires=("REQ-1.5", "REQ-8.3"), severity=REQUIRED, backends=BACKENDS,
       profiles=("full",))
def migrations_tracked(ctx: CheckContext) -> None:
    """Write migrations in SQL both SQLite and PostgreSQL accept (no AUTOINCREMENT, SERIAL,
    PRAGMA or dialect-only types); never write to `ext_migrations` yourself."""
    started = dt.datetime.now(dt.UTC)
    host = ctx.host()
    require_loaded(host, ctx.extension)
    db = ctx.database(host)
    outcome = db.migrate(ctx.extension, "up")
    declared = {int(d["version"]): str(d["description"]) for d in outcome.get("descriptions", [])}
    rows = _tracking(db, ctx.extension)
    tracked = {int(r["version"]): r for r in rows}
    problems: list[str] = []
    if set(tracked) != set(declared):
        problems.append(f"ext_migrations lists versions {sorted(tracked)}, the extension "
                        f"declares {sorted(declared)}")
    now = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    for version, row in sorted(tracked.items()):
        if version in declared and row.get("description") != declared[version]:
            problems.append(f"version {version}: description {row.get('description')!r} "
                            f"differs from the declared {declared[version]!r}")
        if not _CHECKSUM.match(str(row.get("checksum", ""))):
            problems.append(f"version {version}: checksum {row.get('checksum')!r} is not sha256")
        try:
            applied = dt.datetime.fromisoformat(str(row.get("applied_at")))
        except ValueError:
            applied = None
        if applied is None or applied.tzinfo is None or \
                not started - dt.timedelta(minutes=1) <= applied <= now:
            problems.append(f"version {version}: applied_at {row.get('applied_at')!r} is not "
                            f"a time during this check")
    if not outcome.get("ok") or outcome.get("applied"):
        problems.append(f"re-checking the applied migrations did not find them all applied: "
                        f"{outcome.get('error') or outcome.get('applied')}")
    if problems:
        raise CheckFailed("; ".join(problems), {"tracked": rows, "declared": declared})


@check(id="DB-02", title="Re-running migrations after the extension ran is a no-op",
       requires=("REQ-1.5",), severity=REQUIRED, backends=BACKENDS,
       blocked_by=AFTER_MIGRATIONS, profiles=("full",))
def rerun_is_noop(ctx: CheckContext) -> None:
    """Leave `ext_migrations` alone (no truncating 'every table' of your schema), and keep
    migration texts constant, so the next start finds everything applied."""
    host = ctx.host()
    require_loaded(host, ctx.extension)
    db = ctx.database(host)
    schema = _schema(ctx.extension)
    structure, tracked = db.structure(schema), _tracking(db, ctx.extension)
    _exercise(host, ctx.extension)
    outcome = db.migrate(ctx.extension, "up")
    problems: list[str] = []
    if not outcome.get("ok"):
        problems.append(f"re-running failed: {(outcome.get('error') or {}).get('message')}")
    elif outcome.get("applied"):
        problems.append(f"re-running applied versions {outcome['applied']} again")
    tracked_after = _tracking(db, ctx.extension)
    if tracked_after != tracked:
        problems.append("ext_migrations changed between the first run and the re-run")
    changes = _diff(structure, db.structure(schema))
    if changes:
        problems.append(f"the schema changed: {', '.join(changes[:6])}")
    if problems:
        raise CheckFailed("; ".join(problems), {
            "migration": outcome, "tracked_before": tracked, "tracked_after": tracked_after,
            "schema_changes": changes})


@check(id="DB-03",
       title="A failing migration rolls back completely; the schema changes only by migrations",
       requires=("REQ-1.5",), severity=REQUIRED, backends=BACKENDS,
       blocked_by=AFTER_MIGRATIONS, profiles=("full",))
def failure_rolls_back(ctx: CheckContext) -> None:
    """Put every schema change in a migration (each runs in one transaction). DDL run
    statement by statement from initialize() or handlers is untracked and half-applies
    when one statement fails."""
    scratch = ctx.scratch_database()
    schema = _schema(ctx.extension)
    _declared(scratch, ctx.extension)
    migrated, tracked = scratch.structure(schema), _tracking(scratch, ctx.extension)
    outcome = scratch.migrate(ctx.extension, "up_failing")
    problems: list[str] = []
    if outcome.get("ok"):
        problems.append("the injected failing migration was reported as applied")
    leftovers = _diff(migrated, scratch.structure(schema))
    if leftovers:
        problems.append(f"the failed migration left {', '.join(leftovers[:6])}")
    if _tracking(scratch, ctx.extension) != tracked:
        problems.append("the failed migration changed ext_migrations")
    host = ctx.host()
    require_loaded(host, ctx.extension)
    _exercise(host, ctx.extension)
    outside = _diff(_without_tracking(migrated),
                    _without_tracking(ctx.database(host).structure(schema)))
    if outside:
        problems.append(f"the running extension changed its schema outside its migrations "
                        f"(untracked, not atomic): {', '.join(outside[:6])}")
    if problems:
        raise CheckFailed("; ".join(problems), {
            "injected": outcome, "left_by_failure": leftovers,
            "changed_outside_migrations": outside})


@check(id="DB-04", title="Migrations round-trip: up, down to nothing, up again",
       requires=("REQ-1.5", "REQ-9.3"), severity=REQUIRED, backends=BACKENDS,
       blocked_by=AFTER_MIGRATIONS, profiles=("full",))
def up_down_up(ctx: CheckContext) -> None:
    """Give every migration a `down` that undoes exactly its `up` (drop what it created,
    in reverse order), so a rollback of a release leaves no trace."""
    scratch = ctx.scratch_database()
    schema = _schema(ctx.extension)
    empty = _without_tracking(scratch.structure(schema))
    declared = _declared(scratch, ctx.extension)
    first = scratch.structure(schema)
    down = scratch.migrate(ctx.extension, "down", to_version=0)
    _require_ok(down, "reverting every migration (down)")
    problems: list[str] = []
    leftovers = _diff(empty, _without_tracking(scratch.structure(schema)))
    if leftovers:
        problems.append(f"after down, the schema still has {', '.join(leftovers[:6])}")
    if _tracking(scratch, ctx.extension):
        problems.append("after down, ext_migrations still lists applied versions")
    again = scratch.migrate(ctx.extension, "up")
    if not again.get("ok"):
        problems.append(f"up after down failed: {(again.get('error') or {}).get('message')}")
    else:
        changes = _diff(first, scratch.structure(schema))
        if changes:
            problems.append(f"the second up differs from the first: {', '.join(changes[:6])}")
    if problems:
        raise CheckFailed("; ".join(problems), {"declared": declared, "down": down,
                                                "up_again": again, "left_by_down": leftovers})


@check(id="DB-05",
       title="Applied migrations never change: an edited one is refused, texts are stable",
       requires=("REQ-1.5",), severity=REQUIRED, backends=BACKENDS,
       blocked_by=AFTER_MIGRATIONS, profiles=("full",))
def drift_refused(ctx: CheckContext) -> None:
    """Make migration SQL constant text: no timestamps, random values or environment in it.
    To change an applied migration, ship a new one."""
    scratch = ctx.scratch_database()
    schema = _schema(ctx.extension)
    _declared(scratch, ctx.extension)
    structure, tracked = scratch.structure(schema), _tracking(scratch, ctx.extension)
    edited = scratch.migrate(ctx.extension, "up_edited")
    problems: list[str] = []
    if not edited.get("skipped"):
        message = str((edited.get("error") or {}).get("message", ""))
        if edited.get("ok") or "edited" not in message:
            problems.append(f"an edited applied migration was not refused as edited "
                            f"({message or 'it was accepted'})")
        if _tracking(scratch, ctx.extension) != tracked or \
                _diff(structure, scratch.structure(schema)):
            problems.append("the refused edit changed the schema or ext_migrations")
    texts = ctx.probe("db.migration_texts", extension=ctx.extension)
    recorded = {int(r["version"]): r.get("checksum") for r in tracked}
    here = {int(t["version"]): t for t in texts.get("here", [])}
    unstable = [v for v, t in sorted(here.items()) if recorded.get(v) != t["up"]]
    if unstable:
        problems.append(f"migration(s) {unstable} changed between applying and re-reading")
    if texts.get("error"):
        raise RuntimeError(f"could not import the extension afresh: {texts['error']}")
    fresh = {int(t["version"]): t for t in texts.get("fresh") or []}
    drifting = [v for v in sorted(here.keys() | fresh.keys())
                if (here.get(v) or {}).get("up") != (fresh.get(v) or {}).get("up")]
    if drifting:
        problems.append(f"migration(s) {drifting} have different text in a fresh import "
                        f"(a timestamp or random value in the SQL?): the next start would "
                        f"refuse them as edited")
    if problems:
        raise CheckFailed("; ".join(problems), {"edited": edited, "tracked": tracked,
                                                "texts": texts})


# -- DB-06 -----------------------------------------------------------------------------------

def _runaway(db: DatabaseView, name: str, limit: float) -> list[dict[str, Any]]:
    """Statements of ``name`` still running past ``limit`` seconds, watched until it is known.

    PostgreSQL reports each statement's age; SQLite only whether a pooled
    connection is busy, so there "stuck" means still busy ``limit`` + 1 s from now.
    """
    deadline = time.monotonic() + limit + 1.0
    while True:
        running = db.long_running(name, 0.0)
        old = [r for r in running if float(r.get("seconds") or 0.0) > limit]
        if old or not running:
            return old
        if time.monotonic() >= deadline:
            return running
        time.sleep(0.2)


@check(id="DB-06",
       title="Runaway queries are cancelled by the statement timeout; the host keeps serving",
       requires=("REQ-10.2", "REQ-6.1"), severity=REQUIRED, backends=BACKENDS,
       blocked_by=AFTER_MIGRATIONS, profiles=("full",))
def runaway_queries_cancelled(ctx: CheckContext) -> None:
    """Keep the statement timeout: never `SET statement_timeout = 0` (or remove SQLite's
    progress handler). Make slow reports incremental or precomputed instead."""
    [other] = ctx.companions(1)
    host = ctx.host(extensions=[ctx.extension, other],
                    database={"statement_timeout_s": SHORT_TIMEOUT_S})
    require_loaded(host, ctx.extension)
    db = ctx.database(host)
    _exercise(host, ctx.extension)
    stuck = _runaway(db, ctx.extension, SHORT_TIMEOUT_S + 0.5)
    endless = db.endless(ctx.extension, wait_s=SHORT_TIMEOUT_S * 10)
    problems: list[str] = []
    if stuck:
        problems.append(f"{len(stuck)} of the extension's statements kept running past the "
                        f"{SHORT_TIMEOUT_S:g} s statement timeout "
                        f"(e.g. {str(stuck[0].get('query', stuck[0]))[:120]!r})")
    if endless.get("error_type") != "StatementTimeout" or \
            float(endless.get("elapsed_s", 1e9)) > SHORT_TIMEOUT_S * 5:
        problems.append(f"a query that never ends was not cancelled by the statement "
                        f"timeout: {endless.get('error_type')}: {endless.get('message')}")
    if endless.get("after") != "ok":
        problems.append(f"after the cancelled query the database service did not answer: "
                        f"{endless.get('after')}")
    served = {"healthz": host.request("GET", "/healthz").status_code,
              other: host.request("GET", f"/ext/{other}/ping").status_code}
    if any(status != 200 for status in served.values()):
        problems.append(f"the host stopped serving: {served}")
    if problems:
        raise CheckFailed("; ".join(problems), {"long_running": stuck, "endless": endless,
                                                "served": served})
