"""Walking an extension folder: every file it holds is part of it.

The digest and the copy given to the worker must agree on which files make up
the extension, so both walk the folder through :func:`walk`. Nothing is
skipped as "debris" — caches, virtualenvs, build output and hidden folders
are part of what was certified, because anything in the folder may be
imported or run once it is installed — except the root ``certification/``
folder, the default output folder of ``certify`` (reports about the
extension, written after its digest was taken). Symlinks are reported as
links and never followed.

The worker's copy leaves out compiled bytecode (``bytecode=False``): it
imports the sources the checks read, never a ``.pyc`` that could differ from
them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dufflebag_harness.outside.loader._errors import ArtifactError

__all__ = ["BYTECODE_DIR", "BYTECODE_SUFFIXES", "IGNORED_AT_ROOT", "Entry", "is_bytecode",
           "walk"]

#: Skipped only at the root: the default output folder of ``certify``.
IGNORED_AT_ROOT = ("certification",)
#: Compiled Python: the cache folder and the bytecode file suffixes.
BYTECODE_DIR = "__pycache__"
BYTECODE_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Entry:
    """One member of the tree: a regular file or a symlink (``link`` holds its target)."""

    rel: str
    path: Path
    link: str | None = None


def is_bytecode(rel: str) -> bool:
    """Whether the member at POSIX path ``rel`` is compiled bytecode or lies in a cache folder.

    Case-insensitive, because some filesystems (and importers) are.
    """
    parts = rel.lower().split("/")
    return BYTECODE_DIR in parts or parts[-1].endswith(BYTECODE_SUFFIXES)


def walk(root: Path, *, bytecode: bool = True) -> Iterator[Entry]:
    """Files and symlinks under ``root``, sorted by relative POSIX path.

    Everything but the root ``certification/`` folder; with ``bytecode=False``
    also without ``__pycache__`` folders and ``*.pyc``/``*.pyo`` files (links
    so named included). Raises :class:`ArtifactError` on anything else (FIFO,
    socket, device): it has no defined content and opening it could hang.
    """
    found = _walk(root, (), bytecode)
    yield from sorted(found, key=lambda e: e.rel.encode("utf-8", "surrogateescape"))


def _walk(folder: Path, prefix: tuple[str, ...], bytecode: bool) -> Iterator[Entry]:
    with os.scandir(folder) as it:
        children = list(it)
    for child in children:
        parts = (*prefix, child.name)
        rel = "/".join(parts)
        if not prefix and child.name in IGNORED_AT_ROOT and child.is_dir(follow_symlinks=False):
            continue
        if not bytecode and is_bytecode(rel):
            continue
        mode = child.stat(follow_symlinks=False).st_mode
        path = Path(child.path)
        if stat.S_ISLNK(mode):
            yield Entry(rel, path, os.readlink(path))
        elif stat.S_ISDIR(mode):
            yield from _walk(path, parts, bytecode)
        elif stat.S_ISREG(mode):
            yield Entry(rel, path)
        else:
            raise ArtifactError(f"{path}: not a regular file, folder or symlink; remove it")
