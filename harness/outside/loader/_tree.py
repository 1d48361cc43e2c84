"""Walking an extension folder: what counts as part of it, and what is debris.

The digest and the copy given to the worker must agree on which files make up
the extension, so both walk the folder through :func:`walk`. Caches and build
debris are skipped; symlinks are reported as links and never followed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from dufflebag_harness.outside.loader._errors import ArtifactError

__all__ = ["IGNORED_DIRS", "IGNORED_FILES", "Entry", "is_ignored", "walk"]

#: Directory names skipped anywhere in the tree (fnmatch patterns).
IGNORED_DIRS = (
    "__pycache__",
    ".git",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".nox",
    ".tox",
    ".venv",
    "*.egg-info",
)
#: File names skipped anywhere in the tree (fnmatch patterns).
#: ``*.pyc`` only inside ``__pycache__``: a stray ``mod.pyc`` beside the code is importable
#: (sourceless), so it is part of the extension and must be digested.
IGNORED_FILES = (".coverage", ".coverage.*")
#: Skipped only at the root: the default output folder of ``certify``.
IGNORED_AT_ROOT = ("certification",)


@dataclass(frozen=True)
class Entry:
    """One member of the tree: a regular file or a symlink (``link`` holds its target)."""

    rel: str
    path: Path
    link: str | None = None


def is_ignored(rel_parts: tuple[str, ...], is_dir: bool) -> bool:
    """Whether the member at ``rel_parts`` (relative to the root) is debris."""
    name = rel_parts[-1]
    if len(rel_parts) == 1 and is_dir and name in IGNORED_AT_ROOT:
        return True
    patterns = IGNORED_DIRS if is_dir else IGNORED_FILES
    return any(fnmatch(name, pattern) for pattern in patterns)


def walk(root: Path) -> Iterator[Entry]:
    """Files and symlinks under ``root``, sorted by relative POSIX path.

    Raises :class:`ArtifactError` on anything else (FIFO, socket, device): it
    has no defined content and opening it could hang.
    """
    yield from sorted(_walk(root, root, ()), key=lambda e: e.rel.encode("utf-8", "surrogateescape"))


def _walk(root: Path, folder: Path, prefix: tuple[str, ...]) -> Iterator[Entry]:
    with os.scandir(folder) as it:
        children = list(it)
    for child in children:
        parts = (*prefix, child.name)
        mode = child.stat(follow_symlinks=False).st_mode
        path = Path(child.path)
        if stat.S_ISLNK(mode):
            if not (is_ignored(parts, is_dir=True) or is_ignored(parts, is_dir=False)):
                yield Entry("/".join(parts), path, os.readlink(path))
        elif stat.S_ISDIR(mode):
            if not is_ignored(parts, is_dir=True):
                yield from _walk(root, path, parts)
        elif stat.S_ISREG(mode):
            if not is_ignored(parts, is_dir=False):
                yield Entry("/".join(parts), path)
        else:
            raise ArtifactError(f"{path}: not a regular file, folder or symlink; remove it")
