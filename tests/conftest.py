"""Suite-wide fixtures: a private, short GnuPG home so tests never touch real keys;
and the order tests are handed to xdist workers in (longest first).

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


#: Where the long tests live besides those marked ``slow``: every rogue is a certification.
_CERTIFYING = ("tests/rogues/",)


def _weight(item: pytest.Item) -> int:
    if item.get_closest_marker("slow"):
        return 0
    if any(item.nodeid.startswith(prefix) for prefix in _CERTIFYING):
        return 1
    return 2


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (stable otherwise). With ``--dist loadgroup`` (pyproject) xdist
    hands tests out one at a time in this order, so the minute-long certifications
    start at once, on different workers, and the many short tests fill in beside them
    instead of one certification running alone at the end."""
    items.sort(key=_weight)
