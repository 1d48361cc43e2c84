"""SIGTERM and SIGHUP end a run like Ctrl-C: everything cleaned up, exit 128 + signal."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from _cli import ROOT

from dufflebag_harness.outside.exit_codes import (
    ExitCode,
    Interrupted,
    interrupts_held,
    signals_interrupt,
)

ANALYTICS = ROOT / "sample_extensions" / "analytics"
#: Temporary folders a run makes: scratch, worker, worker log; the cluster's is dbpg*.
RUN_PREFIXES = ("dbc-", "dbw-", "dbwl-", "dbh-", "dbt-", "dbpg")
WORKER_MODULE = "dufflebag_harness.inside.worker"


# -- the mechanism, in this process ------------------------------------------------------
def test_exit_codes_of_signals_are_128_plus_the_signal() -> None:
    assert ExitCode.INTERRUPTED == 130 == ExitCode.for_signal(signal.SIGINT)
    assert ExitCode.TERMINATED == 143 == ExitCode.for_signal(signal.SIGTERM)
    assert ExitCode.HANGUP == 129 == ExitCode.for_signal(signal.SIGHUP)
    assert issubclass(Interrupted, KeyboardInterrupt)
    assert Interrupted(signal.SIGTERM).exit_code == 143


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_raises_interrupted_once_and_handlers_are_restored(signum: int) -> None:
    before = signal.getsignal(signum)
    cleaned = []
    with pytest.raises(Interrupted) as caught, signals_interrupt():
        try:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the handler raises before this ends
        finally:
            os.kill(os.getpid(), signum)  # a second signal during the cleanup is ignored
            time.sleep(0.05)
            cleaned.append(True)
    assert caught.value.signum == signum and cleaned == [True]
    assert signal.getsignal(signum) == before


def test_a_held_signal_is_raised_when_the_block_ends() -> None:
    steps = []
    with pytest.raises(Interrupted), signals_interrupt(), interrupts_held():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        steps.append("finished the held block")
    assert steps == ["finished the held block"]


def test_holding_without_handlers_changes_nothing() -> None:
    with interrupts_held():
        pass


# -- a real run, ended by a signal -------------------------------------------------------
def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _worker_running(pid: int) -> bool:
    for proc in _descendants(pid):
        try:
            if WORKER_MODULE in " ".join(proc.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


def _cluster_of(pid: int) -> Path | None:
    for owner in Path("/tmp").glob("dbpg*/owner.json"):
        try:
            if json.loads(owner.read_text())["pid"] == pid:
                return owner.parent
        except (OSError, ValueError, KeyError):
            continue
    return None


def _run_folders(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir() if p.name.startswith(RUN_PREFIXES))


def _wait_for(what: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.02)
    return what()


@pytest.fixture
def private_tmp() -> Iterator[Path]:
    """The run's TMPDIR: its temporary folders are told apart from other runs' (the
    cluster's folder is always under /tmp, told apart by its owner file)."""
    tmp = Path(tempfile.mkdtemp(prefix="dbsig", dir="/tmp"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize(("signum", "delay_s", "code"), [
    # as soon as the worker starts, before it has answered: held until it can be closed
    pytest.param(signal.SIGTERM, 0.0, 143, id="SIGTERM-while-the-worker-starts"),
    pytest.param(signal.SIGHUP, 1.5, 129, id="SIGHUP-while-checks-run"),
])
def test_a_signal_ends_the_run_and_leaves_no_process_and_no_folder(
        private_tmp: Path, signum: int, delay_s: float, code: int) -> None:
    before_tmp = {p.name for p in Path("/tmp").iterdir() if p.name.startswith(RUN_PREFIXES)}
    out = private_tmp / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dufflebag_harness", "certify", str(ANALYTICS),
         "--profile", "quick", "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        # without the suite's shared server: the run starts (and must remove) its own cluster
        env={**{k: v for k, v in os.environ.items() if k != "DUFFLEBAG_PG_DSN"},
             "TMPDIR": str(private_tmp)})
    try:
        started = _wait_for(lambda: any(n.startswith("dbw-") for n in _run_folders(private_tmp))
                            and _worker_running(proc.pid), 90)
        assert started, "no worker started"
        cluster = _cluster_of(proc.pid)
        time.sleep(delay_s)
        descendants = _descendants(proc.pid)
        assert descendants, "the run has no processes to clean up"
        sent = time.monotonic()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    name = signal.Signals(signum).name
    assert proc.returncode == code, err.decode()
    assert f"interrupted by {name}: no report written" in err.decode()
    assert "Traceback" not in err.decode()
    assert took < 45
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert alive == [], f"still running after {name}: {alive}"
    assert _run_folders(private_tmp) == []
    assert cluster is None or not cluster.exists()
    assert not out.exists()
    after_tmp = {p.name for p in Path("/tmp").iterdir() if p.name.startswith(RUN_PREFIXES)}
    ours = after_tmp - before_tmp
    assert cluster is None or cluster.name not in ours
