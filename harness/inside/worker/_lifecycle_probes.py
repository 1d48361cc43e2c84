"""Lifecycle probes: what an extension leaves behind after ``stop``.

``lifecycle.leaks`` runs two full host cycles on the worker's loop — a bare
host, then a host with the extension — each: snapshot, start, a request to
each of the extension's parameter-free GET routes, stop, a short settling
wait, snapshot. What the bare cycle leaves is the host's own and is
discounted; what is left beyond it after the extension's cycle (threads,
asyncio tasks, file descriptors, database connections) is reported. Pool
threads the host and the loop keep for everyone (AnyIO's worker threads,
the loop's default executor) are not counted: they are shared, not owned.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import re
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dufflebag_harness.inside.worker._probe_hosts import PROBE_TOKEN, running_host, seed_users

if TYPE_CHECKING:
    from dufflebag_harness.inside.host import Host
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["PROBES"]

#: Threads of pools shared by everything on the loop: idle ones are not leaks.
_SHARED_POOLS = re.compile(r"^(AnyIO worker thread|asyncio_\d+)")
_DIGITS = re.compile(r"\d+")
#: Time the extension runs on its own after start and after the requests (seconds).
RUN_S = 0.1


@dataclass
class Snapshot:
    threads: dict[int, str] = field(default_factory=dict)
    tasks: dict[int, str] = field(default_factory=dict)
    fds: dict[int, str] = field(default_factory=dict)
    sqlite: int = 0


def _fds() -> dict[int, str]:
    """Open file descriptors and what they point at (Linux ``/proc``; empty elsewhere)."""
    out: dict[int, str] = {}
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return out
    for name in names:
        try:
            out[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except (OSError, ValueError):
            continue  # closed meanwhile (e.g. the listdir's own descriptor)
    return out


def _open_sqlite() -> int:
    """sqlite3 connections still open (garbage collected first, so only referenced ones)."""
    count = 0
    for obj in gc.get_objects():
        if isinstance(obj, sqlite3.Connection):
            try:
                obj.in_transaction  # noqa: B018 - raises on a closed connection
            except sqlite3.ProgrammingError:
                continue
            count += 1
    return count


def _task_label(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    qualname = getattr(coro, "__qualname__", type(coro).__name__)
    return f"{task.get_name()} ({qualname})"


def _snapshot(exclude: asyncio.Task[Any] | None) -> Snapshot:
    gc.collect()
    return Snapshot(
        threads={t.ident or 0: t.name for t in threading.enumerate() if t.is_alive()},
        tasks={id(t): _task_label(t) for t in asyncio.all_tasks()
               if t is not exclude and not t.done()},
        fds=_fds(),
        sqlite=_open_sqlite(),
    )


def _added(before: Snapshot, after: Snapshot) -> dict[str, Any]:
    threads = [name for ident, name in after.threads.items()
               if ident not in before.threads and not _SHARED_POOLS.match(name)]
    return {
        "threads": sorted(threads),
        "tasks": sorted(label for key, label in after.tasks.items() if key not in before.tasks),
        "fds": sorted(target for fd, target in after.fds.items()
                      if before.fds.get(fd) != target),
        "sqlite_connections": max(0, after.sqlite - before.sqlite),
    }


def _empty(added: dict[str, Any]) -> bool:
    return not any(added[k] for k in ("threads", "tasks", "fds")) and not (
        added["sqlite_connections"] or added.get("pool_checked_out"))


async def _exercise(host: Host, name: str) -> list[dict[str, Any]]:
    """One request to each GET route without parameters (resources made lazily count too)."""
    import httpx

    record = host._state.records.get(name)
    router = record.router if record is not None else None
    if router is None:
        return []
    paths = [router.full_path(s) for s in router.routes if "GET" in s.methods and "{" not in s.path]
    out = []
    transport = httpx.ASGITransport(app=host.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe",
                                 headers={"Authorization": f"Bearer {PROBE_TOKEN}"}) as client:
        for path in paths[:20]:
            response = await client.get(path)
            out.append({"path": path, "status": response.status_code})
    return out


async def _settle(before: Snapshot, me: asyncio.Task[Any] | None,
                  settle_s: float) -> dict[str, Any]:
    """What is still there after ``stop``, waiting up to ``settle_s`` for it to go."""
    deadline = time.monotonic() + settle_s
    while True:
        added = _added(before, _snapshot(me))
        if _empty(added) or time.monotonic() >= deadline:
            return added
        await asyncio.sleep(0.05)


def _count_checkouts_at_stop(seen: dict[str, int]) -> Callable[[str, Any], None]:
    """Wrap ``stop`` to count the extension's pooled connections still out when it returns
    (before the host disposes the pool, which would forget them)."""

    def prepare(name: str, instance: Any) -> None:
        original = instance.stop

        async def stop() -> None:
            try:
                result = original()
                if inspect.isawaitable(result):
                    await result
            finally:
                database = getattr(getattr(instance, "services", None), "database", None)
                pool = getattr(getattr(database, "engine", None), "pool", None)
                checkedout = getattr(pool, "checkedout", None)
                seen["pool_checked_out"] = int(checkedout()) if callable(checkedout) else 0

        instance.stop = stop

    return prepare


async def _cycle(server: WorkerServer, names: list[str], name: str,
                 settle_s: float) -> dict[str, Any]:
    me = asyncio.current_task()
    before = _snapshot(me)
    out: dict[str, Any] = {}
    at_stop: dict[str, int] = {}
    async with running_host(server, names, users=seed_users(),
                            prepare=_count_checkouts_at_stop(at_stop)) as (host, _):
        # let what start() spawned get going, as it would long before a real stop()
        await asyncio.sleep(RUN_S)
        out["load_error"] = host.load_errors.get(name) if names else None
        if names and not out["load_error"]:
            out["requests"] = await _exercise(host, name)
            await asyncio.sleep(RUN_S)
    added = await _settle(before, me, settle_s)
    added["pool_checked_out"] = at_stop.get("pool_checked_out", 0)
    out["left"] = added
    return out


def _discount(found: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``found`` minus what the bare host left (by kind, digits ignored)."""
    out = dict(found)
    for key in ("threads", "tasks", "fds"):
        spare = Counter(_DIGITS.sub("#", x) for x in own[key])
        kept = []
        for item in found[key]:
            shape = _DIGITS.sub("#", item)
            if spare[shape] > 0:
                spare[shape] -= 1
            else:
                kept.append(item)
        out[key] = kept
    out["sqlite_connections"] = max(0, found["sqlite_connections"] - own["sqlite_connections"])
    return out


def probe_leaks(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Threads, tasks, fds and connections the extension leaves after ``stop``."""
    name = str(args["extension"])
    server.loaded(name)
    settle_s = float(args.get("settle_s", 1.0))
    timeout = float(args.get("timeout_s", 60.0))

    async def run() -> dict[str, Any]:
        bare = await _cycle(server, [], name, settle_s)
        with_ext = await _cycle(server, [name], name, settle_s)
        return {
            "load_error": with_ext.get("load_error"),
            "requests": with_ext.get("requests", []),
            "host_own": bare["left"],
            "leaked": _discount(with_ext["left"], bare["left"]),
            "settle_s": settle_s,
        }

    return server.loop.run(run(), timeout=timeout)


PROBES: dict[str, Callable[[WorkerServer, dict[str, Any]], dict[str, Any]]] = {
    "lifecycle.leaks": probe_leaks,
}
