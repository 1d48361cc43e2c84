"""A harness killed with kill -9 takes its server down; the next run removes its directory."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from dufflebag_harness.outside.postgres import PgServer, sweep_stale_clusters

from ._helpers import pids_in, still_running

REPO = Path(__file__).resolve().parents[2]

_CHILD = """
import time
from dufflebag_harness.outside.postgres._cluster import start_cluster
server = start_cluster()
print(server.host, flush=True)
time.sleep(120)
"""


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.mark.postgres
def test_kill_9_of_the_harness_stops_postgres_and_next_start_sweeps(
    new_cluster: Callable[[], PgServer],
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUFFLEBAG_")}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 30)
        assert ready, "the child did not report its cluster"
        directory = Path(child.stdout.readline().strip())
        postmaster = int((directory / "data" / "postmaster.pid").read_text().splitlines()[0])
        server_procs = [psutil.Process(postmaster), *psutil.Process(postmaster).children()]
        assert len(server_procs) > 1
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()

    assert still_running(server_procs, timeout=10) == []
    assert directory.exists()  # nobody could clean up after kill -9 ...

    server = new_cluster()  # ... until the next provisioning
    assert not directory.exists()
    assert Path(server.host).exists()


def test_sweep_keeps_live_owners_and_removes_dead_ones() -> None:
    dead = Path(tempfile.mkdtemp(prefix="dbpg", dir="/tmp"))
    live = Path(tempfile.mkdtemp(prefix="dbpg", dir="/tmp"))
    me = psutil.Process()
    try:
        (dead / "owner.json").write_text(json.dumps({"pid": _dead_pid(), "create_time": 1.0}))
        (live / "owner.json").write_text(
            json.dumps({"pid": me.pid, "create_time": me.create_time()})
        )
        (dead / "data").mkdir()
        (dead / "data" / "PG_VERSION").write_text("15\n")
        removed = sweep_stale_clusters()
        assert str(dead) in removed
        assert not dead.exists()
        assert live.exists()
        assert pids_in(live) == []
    finally:
        for directory in (dead, live):
            if directory.exists():
                for child in sorted(directory.rglob("*"), reverse=True):
                    child.rmdir() if child.is_dir() else child.unlink()
                directory.rmdir()


def test_sweep_leaves_a_directory_being_created_alone() -> None:
    fresh = Path(tempfile.mkdtemp(prefix="dbpg", dir="/tmp"))
    try:
        assert str(fresh) not in sweep_stale_clusters()
        assert fresh.exists()
    finally:
        fresh.rmdir()


def test_sweep_with_nothing_stale_never_walks_the_process_table(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provisioning sweeps first: with no dead owner it only reads owner files (the
    walk over every process on the machine is kept for a directory it removes)."""
    def walked(*args: object, **kwargs: object) -> None:
        raise AssertionError("the sweep walked the process table")

    me = psutil.Process()
    root = Path(tempfile.mkdtemp(prefix="dbsweep", dir="/tmp"))  # no other test's clusters
    try:
        live = root / "dbpg-live"
        live.mkdir()
        (live / "owner.json").write_text(json.dumps({"pid": me.pid,
                                                     "create_time": me.create_time()}))
        monkeypatch.setattr(psutil, "process_iter", walked)
        assert sweep_stale_clusters(str(root)) == []
        assert live.is_dir()
    finally:
        (live / "owner.json").unlink(missing_ok=True)
        live.rmdir()
        root.rmdir()
