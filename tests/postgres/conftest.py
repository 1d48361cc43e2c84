"""Fixtures for the PostgreSQL provisioning tests.

A test that needs a real cluster is skipped when this machine has no server
binaries, and fails instead when ``DUFFLEBAG_REQUIRE_POSTGRES=1`` (CI sets
it, so a missing PostgreSQL can never turn the suite green by skipping).
"""

from __future__ import annotations

import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dufflebag_harness.outside.postgres import PgServer, postgres_required
from dufflebag_harness.outside.postgres._binaries import find_bindir
from dufflebag_harness.outside.postgres._cluster import start_cluster


def _need_binaries() -> None:
    if find_bindir() is None:
        message = "no PostgreSQL server binaries (initdb/postgres) on this machine"
        if postgres_required():
            pytest.fail(message + " and DUFFLEBAG_REQUIRE_POSTGRES=1")
        pytest.skip(message)


@pytest.fixture
def server_binaries() -> None:
    """Skip (or fail, when PostgreSQL is required) without initdb/postgres."""
    _need_binaries()


@pytest.fixture(autouse=True)
def _no_external_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests choose their provider: no DSN from the caller, no Docker engine."""
    monkeypatch.delenv("DUFFLEBAG_PG_DSN", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/dufflebag-test-docker.sock")


@pytest.fixture(scope="session")
def cluster() -> Iterator[PgServer]:
    """One ephemeral cluster shared by the tests that only connect to it."""
    _need_binaries()
    server = start_cluster()
    yield server
    server.close()


@pytest.fixture
def new_cluster() -> Iterator[Callable[[], PgServer]]:
    """Start a private cluster for a test that stops or breaks it; closed afterwards."""
    _need_binaries()
    started: list[PgServer] = []

    def start() -> PgServer:
        server = start_cluster()
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def fake_bindir() -> Iterator[Callable[[str, str], Path]]:
    """Make a directory with stand-in ``initdb`` and ``postgres`` shell scripts.

    World-readable, because as root the scripts run as the server account.
    """
    made: list[Path] = []

    def make(initdb: str, postgres: str) -> Path:
        directory = Path(tempfile.mkdtemp(prefix="dbfake", dir="/tmp"))
        directory.chmod(0o755)
        for name, body in (("initdb", initdb), ("postgres", postgres)):
            script = directory / name
            script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
            script.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        made.append(directory)
        return directory

    yield make
    for directory in made:
        for child in directory.iterdir():
            child.unlink()
        directory.rmdir()
