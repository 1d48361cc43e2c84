"""Render the extension template into a new folder, all or nothing.

The template lives beside this module as package data (``template/``), so an
installed harness can scaffold without its source tree. Files end in ``.j2``
and use ``{{ key }}`` placeholders only: extension code is full of braces, and
a real template language would make every dict literal an escaping problem.
Everything is written to a temporary sibling folder and renamed into place at
the end, so a failure (bad name, full disk, a target that appeared meanwhile)
never leaves a half-written extension behind.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

from dufflebag_harness.outside.loader import RESERVED_TOP_LEVEL
from dufflebag_harness.sdk import NAME_PATTERN

__all__ = ["ScaffoldError", "check_name", "class_name_for", "render", "scaffold"]

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_SUFFIX = ".j2"
#: Names the generated layout itself uses next to the package.
_LAYOUT_NAMES = frozenset({"tests"})


class ScaffoldError(ValueError):
    """The scaffold was refused (name or target); the message says what and where."""


def check_name(name: str) -> None:
    """Raise :class:`ScaffoldError` unless ``name`` can be an extension and its package."""
    if not NAME_PATTERN.match(name):
        raise ScaffoldError(
            f"NAME: {name!r} is not an extension name: it must match {NAME_PATTERN.pattern} "
            "(a lower-case letter, then 1 to 30 lower-case letters, digits or '_')"
        )
    if keyword.iskeyword(name):
        raise ScaffoldError(f"NAME: {name!r} is a Python keyword and cannot name a package")
    if name in RESERVED_TOP_LEVEL or name in _LAYOUT_NAMES:
        raise ScaffoldError(
            f"NAME: {name!r} is reserved: it would shadow (or be shadowed by) a package the "
            "harness, its libraries, the test runner or the standard library use; pick another"
        )


def class_name_for(name: str) -> str:
    """The extension class name for ``name``: ``page_stats`` → ``PageStats``."""
    return "".join(part.capitalize() for part in name.split("_") if part) or name.capitalize()


def render(text: str, values: Mapping[str, str]) -> str:
    """Replace every ``{{ key }}`` in ``text``; an unknown key is a template bug."""

    def sub(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return values[key]

    return _PLACEHOLDER.sub(sub, text)


def _template_files(folder: Traversable, rel: PurePosixPath) -> Iterator[tuple[PurePosixPath, str]]:
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name == "__pycache__":
            continue
        if item.is_dir():
            yield from _template_files(item, rel / item.name)
        elif item.name.endswith(_SUFFIX):
            yield rel / item.name, item.read_text("utf-8")


def _destination(rel: PurePosixPath, name: str) -> PurePosixPath:
    """Where a template file goes: ``package/`` is the package, tests are named for it."""
    parts = list(rel.parts)
    if parts[0] == "package":
        parts[0] = name
    filename = parts[-1].removesuffix(_SUFFIX)
    if parts[0] == "tests" and filename == "test_extension.py":
        filename = f"test_{name}.py"
    parts[-1] = filename
    return PurePosixPath(*parts)


def _check_target(target: Path) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise ScaffoldError(f"--dir: {target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        raise ScaffoldError(f"--dir: {target} exists and is not empty; choose a new folder")


def scaffold(name: str, target: Path) -> list[Path]:
    """Write a new extension ``name`` into ``target`` (absent or empty); return its files.

    The result passes its own tests and certifies as generated. Parent folders
    of ``target`` are created. Raises :class:`ScaffoldError` for a bad name or
    target, :class:`OSError` when the file system refuses; in both cases
    ``target`` is left as it was.
    """
    check_name(name)
    target = Path(target).absolute()
    _check_target(target)
    values = {"name": name, "class_name": class_name_for(name)}
    rendered = [
        (_destination(rel, name), render(text, values))
        for rel, text in _template_files(files(__package__).joinpath("template"),
                                         PurePosixPath())
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-new-", dir=target.parent))
    try:
        for rel, text in rendered:
            path = staging.joinpath(*rel.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
        staging.chmod(0o755)  # mkdtemp makes it 0700; the folder is the author's project
        _check_target(target)  # it may have appeared while we wrote
        try:
            os.rename(staging, target)  # atomic; replaces only an empty folder
        except OSError as exc:
            raise ScaffoldError(f"--dir: cannot create {target}: {exc.strerror}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return sorted(target.joinpath(*rel.parts) for rel, _ in rendered)
