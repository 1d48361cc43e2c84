"""Make something costly once per test run, whichever xdist workers need it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from filelock import FileLock


@contextmanager
def once_per_run(factory: pytest.TempPathFactory, worker_id: str, name: str) -> Iterator[Path]:
    """Hold the lock of folder ``name``, shared by every worker of this test run.

    The suite hands tests to workers one at a time, so the tests of one module can run
    on several workers at once, each making its own module fixture. Inside this block
    the first worker makes what the folder should hold; the others wait, then find it
    made. The folder lives in the run's base folder (``worker_id`` "master" without
    xdist), so a later run never finds an earlier run's.
    """
    base = factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent
    folder = shared / name
    with FileLock(str(shared / f"{name}.lock")):
        folder.mkdir(exist_ok=True)
        yield folder
