"""Quota probes: set a running host's per-extension quotas and slow its handlers down.

The PE checks judge the host's limits over HTTP, but a fast handler never
holds a concurrency slot or reaches a timeout. ``quota.slow`` wraps each of the
extension's route handlers so it first waits ``hold_s`` (cancellably), and
records every call: when it ran, how many ran at once, and whether it was
cancelled or ran to completion. Whatever the extension puts *around* its
handlers (middleware, hooks, background tasks) then meets the host's limits
exactly as a slow handler would. ``quota.set`` tightens a quota to a value the
parent can exceed cheaply (or lifts the rate limit so it does not interfere).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["PROBES", "CallTracker"]


class CallTracker:
    """Calls of the slowed handlers of one extension in one host."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.origin = time.monotonic()
        self.active = 0
        self.max_active = 0
        self.calls: list[dict[str, Any]] = []

    def enter(self) -> float:
        with self._lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        return time.monotonic()

    def leave(self, started: float, outcome: str) -> None:
        now = time.monotonic()
        with self._lock:
            self.active -= 1
            self.calls.append({"start_s": round(started - self.origin, 4),
                               "duration_s": round(now - started, 4), "outcome": outcome})


_TRACKERS: dict[tuple[str, str], CallTracker] = {}


def _record(server: WorkerServer, args: dict[str, Any]) -> tuple[Any, Any]:
    from dufflebag_harness.inside.worker._server import OpError

    host_id, name = str(args.get("host_id", "")), str(args["extension"])
    running = server.hosts.get(host_id)
    if running is None:
        raise OpError("UnknownHost", f"no running host {host_id!r}")
    record = running.host._state.records.get(name)
    if record is None or record.router is None:
        raise OpError("NotLoaded", f"extension {name!r} is not serving in host {host_id!r}")
    return running.host._state, record


def _slowed(handler: Callable[..., Any], tracker: CallTracker,
            hold_s: float) -> Callable[[Any], Awaitable[Any]]:
    from anyio import to_thread

    is_async = inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(type(handler), "__call__", None))  # noqa: B004 - callable objects

    async def slowed(request: Any) -> Any:
        started = tracker.enter()
        outcome = "completed"
        try:
            await asyncio.sleep(hold_s)
            if is_async:
                return await handler(request)
            result = await to_thread.run_sync(handler, request)
            return await result if inspect.isawaitable(result) else result
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except BaseException:
            outcome = "error"
            raise
        finally:
            tracker.leave(started, outcome)

    return slowed


def probe_quota_slow(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Make every handler of the extension wait ``hold_s`` first; record each call."""
    state, record = _record(server, args)
    hold_s = float(args.get("hold_s", 1.0))
    tracker = CallTracker()
    _TRACKERS[(str(args["host_id"]), record.name)] = tracker
    router = record.router
    router._routes = [dataclasses.replace(spec, handler=_slowed(spec.handler, tracker, hold_s))
                      for spec in router._routes]
    state.rebuild()
    return {"routes": len(router._routes), "hold_s": hold_s}


def probe_quota_calls(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """The slowed calls (timing, outcome) and the most that ran at once; ends the tracking."""
    tracker = _TRACKERS.pop((str(args["host_id"]), str(args["extension"])), None)
    if tracker is None:
        return {"slowed": False, "calls": [], "max_active": 0, "active": 0}
    return {"slowed": True, "calls": list(tracker.calls), "max_active": tracker.max_active,
            "active": tracker.active}


def probe_quota_set(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Replace the extension's requests/s and/or concurrency quota in a running host."""
    from dufflebag_harness.inside.host._faults import TokenBucket

    state, record = _record(server, args)
    changes = {k: int(args[k]) for k in ("requests_per_second", "concurrent_requests")
               if k in args}
    with state.lock:
        record.quotas = dataclasses.replace(record.quotas, **changes)
        if "requests_per_second" in changes:
            rate = changes["requests_per_second"]
            record.bucket = TokenBucket(rate) if rate > 0 else None
    return {"quotas": dataclasses.asdict(record.quotas)}


Probe = Callable[["WorkerServer", dict[str, Any]], dict[str, Any]]

PROBES: dict[str, Probe] = {
    "quota.set": probe_quota_set,
    "quota.slow": probe_quota_slow,
    "quota.calls": probe_quota_calls,
}
