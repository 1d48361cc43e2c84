"""When no server can be had: clear reasons, nothing left behind, require → raise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from dufflebag_harness.outside.postgres import PostgresUnavailable, last_errors, provision
from dufflebag_harness.outside.postgres._cluster import start_cluster
from dufflebag_harness.outside.postgres._containers import docker_unavailable_reason

from ._helpers import owned_cluster_dirs, pids_in

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def nothing_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No server binaries anywhere this process looks."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("dufflebag_harness.outside.postgres._binaries.SEARCH_GLOBS", ())


def test_testcontainers_gives_up_quickly_without_docker() -> None:
    started = time.monotonic()
    reason = docker_unavailable_reason()
    elapsed = time.monotonic() - started
    assert reason is not None and "Docker" in reason
    assert elapsed < 5.0  # an absent socket is refused at once, not after the client's timeout


@pytest.mark.usefixtures("nothing_installed")
def test_no_provider_returns_none_with_each_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUFFLEBAG_REQUIRE_POSTGRES", raising=False)
    assert provision() is None
    failures = last_errors()
    assert [f.provider for f in failures] == ["dsn", "testcontainers", "ephemeral"]
    assert "DUFFLEBAG_PG_DSN" in failures[0].reason
    assert "Docker" in failures[1].reason
    assert "initdb" in failures[2].reason and "PATH" in failures[2].reason


@pytest.mark.usefixtures("nothing_installed")
def test_require_raises_naming_every_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DUFFLEBAG_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(PostgresUnavailable) as info:
        provision(require=True)
    message = str(info.value)
    for provider in ("dsn:", "testcontainers:", "ephemeral:"):
        assert provider in message
    assert [f.provider for f in info.value.failures] == ["dsn", "testcontainers", "ephemeral"]


@pytest.mark.usefixtures("nothing_installed")
def test_require_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DUFFLEBAG_REQUIRE_POSTGRES", "1")
    with pytest.raises(PostgresUnavailable, match="ephemeral: initdb and postgres not found"):
        provision()


def test_broken_initdb_reports_its_stderr_and_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, fake_bindir: Callable[[str, str], Path]
) -> None:
    bindir = fake_bindir(
        'echo "initdb: error: could not create directory: No space left on device" >&2; exit 1',
        "exit 1",
    )
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    before = owned_cluster_dirs(os.getpid())
    with pytest.raises(PostgresUnavailable) as info:
        provision(require=True)
    assert "ephemeral: initdb failed (exit 1)" in str(info.value)
    assert "No space left on device" in str(info.value)
    assert owned_cluster_dirs(os.getpid()) == before


def test_server_that_exits_at_start_reports_its_log(
    monkeypatch: pytest.MonkeyPatch, fake_bindir: Callable[[str, str], Path]
) -> None:
    bindir = fake_bindir(
        'mkdir -p "$2"',
        'echo "FATAL:  could not create shared memory segment: No space left" >&2; exit 1',
    )
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    before = owned_cluster_dirs(os.getpid())
    with pytest.raises(PostgresUnavailable) as info:
        provision(require=True)
    assert "postgres exited with 1" in str(info.value)
    assert "could not create shared memory segment" in str(info.value)
    assert owned_cluster_dirs(os.getpid()) == before


def test_server_that_never_gets_ready_is_stopped_at_the_timeout(
    monkeypatch: pytest.MonkeyPatch, fake_bindir: Callable[[str, str], Path]
) -> None:
    bindir = fake_bindir('mkdir -p "$2"', "exec sleep 60")
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}/usr/bin:/bin")
    before = owned_cluster_dirs(os.getpid())
    started = time.monotonic()
    with pytest.raises(Exception, match="not ready after"):
        start_cluster(start_timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert owned_cluster_dirs(os.getpid()) == before
    sleepers = [p for p in psutil.Process().children(recursive=True) if p.name() == "sleep"]
    assert sleepers == []


_INTERRUPTED_CHILD = """
from dufflebag_harness.outside.postgres._cluster import start_cluster
try:
    start_cluster(start_timeout_s=60)
except KeyboardInterrupt:
    raise SystemExit(130)
"""


def test_ctrl_c_while_starting_removes_the_cluster(
    fake_bindir: Callable[[str, str], Path],
) -> None:
    bindir = fake_bindir('mkdir -p "$2"', "exec sleep 60")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUFFLEBAG_")}
    env["PATH"] = f"{bindir}{os.pathsep}/usr/bin:/bin"
    child = subprocess.Popen([sys.executable, "-c", _INTERRUPTED_CHILD], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 20
        dirs: set[Path] = set()
        while not dirs or not any(pids_in(d) for d in dirs):
            assert time.monotonic() < deadline, "the child never started its server"
            time.sleep(0.05)
            dirs = owned_cluster_dirs(child.pid)
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=20) == 130
    finally:
        if child.poll() is None:
            child.kill()
    (directory,) = dirs
    assert not directory.exists()
    assert pids_in(directory) == []
