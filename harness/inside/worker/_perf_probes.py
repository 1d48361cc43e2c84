"""Performance probes: the worker's memory after a garbage collection.

Memory growth under load is judged in the parent, which reads the worker's
resident set itself (psutil on the pid this probe names). What only the worker
can do is collect garbage first, so that growth is not mistaken for garbage
that simply had not been collected yet; it also reports its own view (RSS,
peak, allocated blocks) as self-reported evidence.
"""

from __future__ import annotations

import gc
import os
import resource
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer


def _status_kb() -> dict[str, int]:
    """``VmRSS``/``VmHWM`` from ``/proc/self/status`` (kB); empty where there is no procfs."""
    out: dict[str, int] = {}
    try:
        text = Path("/proc/self/status").read_text("ascii", "replace")
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def probe_memory(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Collect garbage (all generations) unless told not to, then report memory figures."""
    collected = gc.collect() if args.get("collect", True) else 0
    status = _status_kb()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux
    return {
        "pid": os.getpid(),
        "gc_collected": collected,
        "rss_kb": status.get("VmRSS"),
        "peak_kb": status.get("VmHWM", peak_kb),
        "allocated_blocks": sys.getallocatedblocks(),
        "threads": threading.active_count(),
    }


Probe = Callable[["WorkerServer", dict[str, Any]], dict[str, Any]]

PROBES: dict[str, Probe] = {"perf.memory": probe_memory}

__all__ = ["PROBES", "probe_memory"]
