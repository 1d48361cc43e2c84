"""Suite-wide fixtures: a private, short GnuPG home so tests never touch real keys; one
PostgreSQL server per test process for the certifications the suite runs; and the order
tests are handed to xdist workers in (longest first).

The suite tests the *installed* package. ``python -m pytest`` puts the checkout's root on
``sys.path``, where the repository's folders (``harness``, ``reports``, ...) would import
as top-level packages and hide a missing ``dufflebag_harness.`` prefix; drop it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dufflebag_harness.outside.postgres import DSN_ENV
from dufflebag_harness.outside.postgres._binaries import find_bindir
from dufflebag_harness.outside.postgres._cluster import start_cluster
from dufflebag_harness.outside.postgres._errors import ProviderError

_CHECKOUT = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _CHECKOUT]


@pytest.fixture(scope="session", autouse=True)
def private_gnupghome() -> Iterator[Path]:
    """Every signing operation in the suite uses a throwaway home (short: agent sockets)."""
    home = Path(tempfile.mkdtemp(prefix="dbgpg", dir="/tmp"))
    os.chmod(home, 0o700)
    saved = {k: os.environ.get(k) for k in ("DUFFLEBAG_GNUPGHOME", "DUFFLEBAG_SIGNING_KEY")}
    os.environ["DUFFLEBAG_GNUPGHOME"] = str(home)
    os.environ.pop("DUFFLEBAG_SIGNING_KEY", None)
    try:
        yield home
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session", autouse=True)
def shared_postgres() -> Iterator[None]:
    """One ephemeral PostgreSQL server per test process, named to every certification the
    suite runs through ``DUFFLEBAG_PG_DSN``, as a CI job names its server: a cluster per
    certification would cost a second or more, a hundred times over. Each certification
    still gets its own databases and roles on it, dropped when it ends.

    A caller's own ``DUFFLEBAG_PG_DSN`` is kept. Tests that need the cluster a bare
    ``certify`` starts for itself clear the variable (``tests/postgres``, the signal
    tests), and ``.ci/certify-samples`` certifies without it."""
    if os.environ.get(DSN_ENV) or find_bindir() is None:
        yield  # no server binaries: PostgreSQL tests skip, or fail when it is required
        return
    try:
        server = start_cluster()
    except ProviderError:
        yield  # each certification then tries for itself and says why it could not
        return
    os.environ[DSN_ENV] = server.admin_dsn
    try:
        yield
    finally:
        os.environ.pop(DSN_ENV, None)
        server.close()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: one worker more than the machine has cores. A fifth of the suite's
    time is spent waiting (on sandboxes starting, servers, quotas and the outside watch
    after ``stop()``), during which one more worker keeps the cores busy."""
    return (os.cpu_count() or 1) + 1


def pytest_configure(config: pytest.Config) -> None:
    """``-n`` hands tests to workers one at a time (``--maxschedchunk 1``), in the order
    below, where it would otherwise send long runs of neighbouring tests to one worker.
    A module fixture is then made on each worker that runs one of its tests: a costly
    one is shared through the run's base folder (``tests/runner/test_end_to_end.py``)."""
    if getattr(config.option, "dist", None) == "load" and config.option.maxschedchunk is None:
        config.option.maxschedchunk = 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first, so the minute-long certifications start at once, on different
    workers, and the many short tests fill in beside them instead of one certification
    running alone at the end.

    The long tests go in three groups: single tests (the full certifications), then the
    parametrized sweeps (a certification per rogue), then the other long tests of a
    module whose first long test went ahead. Tests that share a costly fixture made once
    per run (the end-to-end certification) would otherwise start together, one worker
    making it while the others sleep on its lock. The order is stable otherwise, so a
    module's short tests mostly stay on one worker with its module fixtures."""
    leading: dict[str, str] = {}

    def order(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is None:
            return 3
        module = item.nodeid.split("::", 1)[0]
        function = getattr(item, "originalname", item.name)
        if leading.setdefault(module, function) != function:
            return 2
        return 1 if getattr(item, "callspec", None) is not None else 0

    keys = {item.nodeid: order(item) for item in items}
    items.sort(key=lambda item: keys[item.nodeid])
