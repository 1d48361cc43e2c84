"""Where the PostgreSQL server binaries are.

``initdb`` and ``postgres`` must sit in the same directory (initdb starts the
``postgres`` next to it). PATH wins, so a user can pick a version; otherwise
the highest major version of Debian/Ubuntu's ``/usr/lib/postgresql/*/bin``.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

__all__ = ["SEARCH_GLOBS", "find_bindir", "searched_places"]

#: Directories searched after PATH; each match is ranked by its version number.
SEARCH_GLOBS: tuple[str, ...] = ("/usr/lib/postgresql/*/bin",)


def _has_server(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in ("initdb", "postgres"))


def _version_key(directory: Path) -> tuple[int, ...]:
    parts = directory.parent.name.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else (-1,)


def find_bindir(path: str | None = None) -> Path | None:
    """The directory holding ``initdb`` and ``postgres``, or None.

    ``path`` defaults to the PATH environment variable.
    """
    initdb = shutil.which("initdb", path=path)
    if initdb is not None and _has_server(Path(initdb).parent):
        return Path(initdb).parent
    candidates = [Path(d) for pattern in SEARCH_GLOBS for d in glob.glob(pattern)]
    found = sorted((d for d in candidates if _has_server(d)), key=_version_key, reverse=True)
    return found[0] if found else None


def searched_places() -> str:
    """Human wording of where :func:`find_bindir` looks, for error messages."""
    return "PATH or " + " or ".join(SEARCH_GLOBS) if SEARCH_GLOBS else "PATH"
