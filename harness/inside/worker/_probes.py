"""In-process probes: facts only the worker can see (results are self-reported).

Each probe takes the server and the request args and returns JSON-able data.
The parent decides pass/fail; probes only measure. Every probe is declared, with the
types of its arguments and result, in :mod:`dufflebag_harness.shared.contract`; the
registry here is built from that table.
"""

from __future__ import annotations

import asyncio
import inspect
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dufflebag_harness.shared import contract
from dufflebag_harness.shared.contract import ContractError, bind

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def _timed(instance: Any, name: str, timings: dict[str, float], errors: dict[str, str]) -> None:
    """Wrap ``instance.name`` to record its duration and any error."""
    original = getattr(instance, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await _maybe_await(original(*args, **kwargs))
        except BaseException as exc:
            errors[name] = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            timings[name] = time.perf_counter() - t0

    setattr(instance, name, wrapper)


def probe_lifecycle(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Load the extension (with what it requires), time every lifecycle call of the
    extension itself, stop twice, restart."""
    name = str(args["extension"])
    limit = float(args.get("timeout_s", 10.0))
    timings: dict[str, float] = {}
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"timings": timings, "errors": errors}
    # ``errors`` keeps collecting during stop-again and restart; ``out["errors"]`` is
    # replaced by a snapshot of the first cycle once the host has stopped.
    with tempfile.TemporaryDirectory(prefix="dbh-lc-") as storage:
        def prepare(_name: str, instance: Any) -> None:
            for method in ("initialize", "start", "stop", "health"):
                _timed(instance, method, timings, errors)

        host, instances = server.new_host([name], storage_root=Path(storage), prepare=prepare)
        instance = instances[name]

        async def run() -> None:
            await asyncio.wait_for(host.start(), limit * 3)
            out["load_error"] = host.load_errors.get(name)
            if out["load_error"]:
                return
            health = await asyncio.wait_for(instance.health(), limit)
            out["health"] = getattr(getattr(health, "status", None), "value", str(health))
            await asyncio.wait_for(host.stop(), limit * 3)
            out["errors"] = dict(errors)  # the first cycle only; what follows is judged apart
            t0 = time.perf_counter()
            try:
                await asyncio.wait_for(_maybe_await(instance.stop()), limit)
                out["stop_again"] = "ok"
            except BaseException as exc:
                out["stop_again"] = f"{type(exc).__name__}: {exc}"
            timings["stop_again"] = time.perf_counter() - t0
            try:
                await asyncio.wait_for(_maybe_await(instance.start()), limit)
                h2 = await asyncio.wait_for(instance.health(), limit)
                out["restart"] = {"ok": True,
                                  "health": getattr(getattr(h2, "status", None), "value", str(h2))}
                await asyncio.wait_for(_maybe_await(instance.stop()), limit)
            except BaseException as exc:
                out["restart"] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

        try:
            server.loop.run(run(), timeout=limit * 10)
        except BaseException as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
    return out


def probe_describe(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """What the extension's class says about itself (no instance created)."""
    spec = server.loaded(str(args["extension"]))
    return server._describe(spec.cls)


Probe = Callable[["WorkerServer", dict[str, Any]], dict[str, Any]]


def _discover() -> dict[str, Probe]:
    """This module's probes and the ``PROBES`` of every ``_*_probes`` module of this
    package (one per area)."""
    import importlib
    import pkgutil

    import dufflebag_harness.inside.worker as package

    found: dict[str, Probe] = {"lifecycle": probe_lifecycle, "describe": probe_describe}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_") and info.name.endswith("_probes") and info.name != "_probes":
            module = importlib.import_module(f"dufflebag_harness.inside.worker.{info.name}")
            for name, probe in getattr(module, "PROBES", {}).items():
                if name in found:
                    raise ContractError("ContractMismatch",
                                        f"probe {name!r} is implemented twice ({info.name})")
                found[name] = probe
    return found


#: The worker's registry: the probes the contract declares, each with its implementation.
#: One implemented but not declared, or declared but not implemented, stops the worker.
PROBES: dict[str, Probe] = bind(contract.PROBES, _discover(), "probes")
