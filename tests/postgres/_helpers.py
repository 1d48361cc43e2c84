"""Helpers shared by the PostgreSQL provisioning tests."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil

from dufflebag_harness.outside.postgres._sweep import CLUSTER_PREFIX, CLUSTER_ROOT, OWNER_FILE


def owned_cluster_dirs(pid: int) -> set[Path]:
    """Cluster directories whose owner file names ``pid``."""
    found = set()
    for directory in Path(CLUSTER_ROOT).glob(f"{CLUSTER_PREFIX}*"):
        try:
            owner = json.loads((directory / OWNER_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if owner.get("pid") == pid:
            found.add(directory)
    return found


def pids_in(directory: Path) -> list[int]:
    """Processes whose working directory is inside ``directory`` (a cluster's server)."""
    found = []
    for proc in psutil.process_iter(["cwd"]):
        cwd = proc.info.get("cwd")
        if cwd and (cwd == str(directory) or cwd.startswith(f"{directory}{os.sep}")):
            found.append(proc.pid)
    return found


def still_running(procs: list[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Poll (finely: psutil.wait_procs backs off to seconds) until ``procs`` are gone.

    Returns those still alive at the deadline; zombies count as gone.
    """
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for proc in procs:
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)
