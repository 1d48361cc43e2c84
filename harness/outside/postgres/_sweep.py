"""Owner files and the sweep of clusters whose harness died.

A harness killed with ``kill -9`` cannot remove its cluster directory (the
parent-death signal only takes the processes down). Each directory therefore
records who owns it, and the next provisioning removes directories whose owner
is gone, killing any server still running there first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import signal
import time
from pathlib import Path

import psutil

__all__ = ["CLUSTER_PREFIX", "CLUSTER_ROOT", "OWNER_FILE", "sweep_stale_clusters", "write_owner"]

CLUSTER_ROOT = "/tmp"  # short on purpose: the socket path must stay under 107 bytes
CLUSTER_PREFIX = "dbpg"
OWNER_FILE = "owner.json"
#: A directory without an owner file is being created right now, unless older than this.
_UNOWNED_GRACE_S = 60.0

_log = logging.getLogger("dufflebag_harness.outside.postgres")


def write_owner(directory: Path) -> None:
    """Record this process (pid and start time, which together survive pid reuse)."""
    me = psutil.Process()
    data = {"pid": me.pid, "create_time": me.create_time(), "started": time.time()}
    partial = directory / f".{OWNER_FILE}.tmp"
    partial.write_text(json.dumps(data), encoding="utf-8")
    partial.replace(directory / OWNER_FILE)  # atomic: a sweeper never reads half a file


def _owner_alive(directory: Path) -> bool:
    try:
        data = json.loads((directory / OWNER_FILE).read_text(encoding="utf-8"))
        pid, create_time = int(data["pid"]), float(data["create_time"])
    except (OSError, ValueError, KeyError, TypeError):
        # Missing or unreadable: being created right now, or left by a crash long ago.
        age = time.time() - directory.stat().st_mtime
        return age < _UNOWNED_GRACE_S
    try:
        started: float = psutil.Process(pid).create_time()
    except psutil.Error:
        return False
    return abs(started - create_time) < 1.0


def _server_processes(directory: Path) -> list[psutil.Process]:
    """Processes of a cluster: every postgres process working inside its data dir."""
    data = str(directory / "data")
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["name", "cwd"]):
        name, cwd = proc.info.get("name"), proc.info.get("cwd")
        if cwd == data and name in ("postgres", "postmaster"):
            found.append(proc)
    pidfile = directory / "data" / "postmaster.pid"
    with contextlib.suppress(OSError, ValueError, IndexError, psutil.Error):
        pid = int(pidfile.read_text(encoding="utf-8").splitlines()[0])
        proc = psutil.Process(pid)
        if proc.name() in ("postgres", "postmaster") and all(p.pid != pid for p in found):
            found.append(proc)
    return found


def _remove(directory: Path) -> bool:
    procs = _server_processes(directory)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGKILL)
    _, alive = psutil.wait_procs(procs, timeout=5)
    if alive:
        _log.warning("stale cluster %s: processes %s survived SIGKILL", directory, alive)
        return False
    shutil.rmtree(directory, ignore_errors=True)
    return not directory.exists()


def sweep_stale_clusters(root: str = CLUSTER_ROOT) -> list[str]:
    """Remove cluster directories whose owning harness is dead; return those removed.

    Directories of live owners are never touched. Failures (e.g. another user's
    directory) are logged and skipped: a sweep never stops a provisioning.
    """
    removed: list[str] = []
    for directory in sorted(Path(root).glob(f"{CLUSTER_PREFIX}*")):
        try:
            if not directory.is_dir() or directory.is_symlink() or _owner_alive(directory):
                continue
            if _remove(directory):
                _log.info("removed stale PostgreSQL cluster %s", directory)
                removed.append(str(directory))
        except (OSError, psutil.Error) as exc:
            _log.warning("could not sweep %s: %s", directory, exc)
    return removed
