"""Where are we running? (Used to pick sensible defaults.)"""

from __future__ import annotations

import sys


def _loaded() -> list[str]:
    table = sys.modules
    return list(table)


def managed() -> bool:
    """True inside a managed test runner."""
    return any(name.endswith(".worker._server") for name in _loaded())
