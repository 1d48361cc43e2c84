"""Configuration probes: what a reload does to the extension instance's own state.

The host records configuration; what the extension *does* with it lives in
its attributes. These probes take structural snapshots of the instance
(attribute paths to plain values; services, callables, tasks, locks and
other machinery skipped) and compare them:

* ``config.reload`` — for each configuration the parent sends, reload it on
  a host started with ``base``: was it applied or refused, and if refused,
  did the instance's state change anyway (a half-applied reload)? Applied
  ones are followed by a reload of ``base`` so every attempt starts alike.
* ``config.compare`` — does a hot reload from ``base`` to ``target`` leave
  the instance like a fresh start with ``target`` does? Attributes that
  differ between two fresh starts with ``base`` are volatile and ignored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import decimal
import enum
import inspect
import pathlib
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from dufflebag_harness.inside.worker._probe_hosts import running_host

if TYPE_CHECKING:
    from dufflebag_harness.inside.host import Host
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["PROBES", "snapshot"]

MAX_DEPTH = 4
MAX_ITEMS = 50
_SKIP_NAMES = frozenset({"services", "metadata"})
#: Values shown by their repr (they have no attributes worth walking).
_VALUES = (datetime.date, datetime.time, datetime.timedelta, decimal.Decimal, pathlib.PurePath,
           enum.Enum, bytes)
_MACHINERY = (asyncio.AbstractEventLoop, asyncio.Future, asyncio.Queue, asyncio.Event,
              asyncio.Lock, asyncio.Semaphore, asyncio.Condition, threading.Thread)


def _machinery(value: Any) -> bool:
    if isinstance(value, _MACHINERY) or inspect.isroutine(value) or inspect.ismodule(value):
        return True
    if isinstance(value, type):
        return True
    module = type(value).__module__ or ""
    return module.startswith(("harness.", "sqlalchemy", "logging", "threading", "_thread",
                              "concurrent.", "asyncio", "sqlite3", "psycopg"))


def _fields(value: Any) -> dict[str, Any] | None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}
    attrs = getattr(value, "__dict__", None)
    if isinstance(attrs, dict):
        return dict(attrs)
    slots = [s for c in type(value).__mro__ for s in getattr(c, "__slots__", ())]
    if slots:
        return {s: getattr(value, s) for s in slots if isinstance(s, str) and hasattr(value, s)}
    return None


def snapshot(value: Any, prefix: str = "", depth: int = 0,
             out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Attribute path → plain value, for what an instance holds (machinery skipped)."""
    out = {} if out is None else out
    if value is None or isinstance(value, str | int | float | bool):
        out[prefix or "."] = value
    elif isinstance(value, _VALUES):
        out[prefix or "."] = repr(value)[:200]
    elif depth >= MAX_DEPTH:
        out[prefix] = f"<{type(value).__name__}>"
    elif isinstance(value, Mapping):
        for key in sorted(value, key=str)[:MAX_ITEMS]:
            snapshot(value[key], f"{prefix}[{key!r}]", depth + 1, out)
        out[f"{prefix}#len"] = len(value)
    elif isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
        for i, item in enumerate(items[:MAX_ITEMS]):
            snapshot(item, f"{prefix}[{i}]", depth + 1, out)
        out[f"{prefix}#len"] = len(value)
    elif not _machinery(value):
        fields = _fields(value)
        if fields is None:
            out[prefix] = f"<{type(value).__name__}>"
        else:
            for name, item in sorted(fields.items()):
                if name in _SKIP_NAMES or name.startswith("__") or _machinery(item):
                    continue
                snapshot(item, f"{prefix}.{name}", depth + 1, out)
    return out


def _diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> set[str]:
    return {k for k in set(a) | set(b) if a.get(k, "<absent>") != b.get(k, "<absent>")}


async def _reload(host: Host, name: str, config: Any) -> dict[str, Any]:
    from dufflebag_harness.sdk import ConfigError

    try:
        applied = await anyio.to_thread.run_sync(host.set_config, name, config)
    except ConfigError as exc:
        return {"outcome": "refused", "path": exc.path, "reason": str(exc.reason)[:300]}
    except Exception as exc:
        return {"outcome": "error", "reason": f"{type(exc).__name__}: {exc}"[:300]}
    return {"outcome": "applied", "config": applied}


def probe_reload(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Reload each of ``configs`` on a host started with ``base``; report half-applied ones."""
    name = str(args["extension"])
    base = args.get("base")
    configs = list(args.get("configs") or [])[:100]

    async def run() -> dict[str, Any]:
        async with running_host(server, [name], config=base) as (host, instances):
            if host.load_errors.get(name):
                return {"load_error": host.load_errors[name]}
            ext = instances[name]
            results = []
            for config in configs:
                s0 = snapshot(ext)
                await asyncio.sleep(0.01)
                s1 = snapshot(ext)
                kept = host.config(name)
                result = await _reload(host, name, config)
                s2 = snapshot(ext)
                if result["outcome"] != "applied":
                    volatile = _diff(s0, s1)
                    changed = sorted(_diff(s1, s2) - volatile)[:20]
                    result["changed"] = [{"attribute": k, "before": s1.get(k), "after": s2.get(k)}
                                         for k in changed]
                    result["config_kept"] = host.config(name) == kept
                else:
                    back = await _reload(host, name, kept)
                    result["restored"] = back["outcome"] == "applied"
                results.append({"config": config, **result})
            return {"results": results}

    return server.loop.run(run(), timeout=float(args.get("timeout_s", 60.0)))


async def _fresh(server: WorkerServer, name: str, config: Any) -> tuple[str | None, dict[str, Any]]:
    async with running_host(server, [name], config=config) as (host, instances):
        await asyncio.sleep(0.01)
        return host.load_errors.get(name), snapshot(instances[name])


def probe_compare(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """A hot reload ``base`` → ``target`` against a fresh start with ``target``."""
    name = str(args["extension"])
    base, target = args.get("base"), args.get("target")

    async def run() -> dict[str, Any]:
        errors: dict[str, Any] = {}
        errors["base"], fresh_a = await _fresh(server, name, base)
        _, fresh_a2 = await _fresh(server, name, base)
        errors["target"], fresh_b = await _fresh(server, name, target)
        async with running_host(server, [name], config=base) as (host, instances):
            reload = await _reload(host, name, target)
            await asyncio.sleep(0.01)
            reloaded = snapshot(instances[name])
        if any(errors.values()):
            return {"load_error": errors, "reload": reload}
        volatile = _diff(fresh_a, fresh_a2)
        dependent = _diff(fresh_a, fresh_b) - volatile
        mismatch = sorted(k for k in _diff(reloaded, fresh_b) if k in dependent)[:20]
        return {
            "reload": reload,
            "dependent": sorted(dependent)[:50],
            "mismatch": [{"attribute": k, "reloaded": reloaded.get(k), "fresh": fresh_b.get(k)}
                         for k in mismatch],
        }

    return server.loop.run(run(), timeout=float(args.get("timeout_s", 60.0)))


PROBES: dict[str, Callable[[WorkerServer, dict[str, Any]], dict[str, Any]]] = {
    "config.reload": probe_reload,
    "config.compare": probe_compare,
}
