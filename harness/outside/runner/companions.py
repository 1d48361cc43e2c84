"""Companion extensions: numbered copies of one small, boring extension.

Checks that need "the other extensions" (escapes, fault isolation, 10+
extensions together) load copies of ``companion/`` (shipped beside this module)
named ``companion_01`` … made by replacing the word ``companion`` in names
and contents. One source, any number of distinct extensions.
"""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

TEMPLATE_NAME = "companion"
DEFAULT_COUNT = 9
_SKIP = {"__pycache__", ".pytest_cache", "tests"}


def template_root() -> Path:
    return Path(str(resources.files(__package__))) / TEMPLATE_NAME


def companion_names(count: int = DEFAULT_COUNT) -> list[str]:
    return [f"{TEMPLATE_NAME}_{i:02d}" for i in range(1, count + 1)]


def make_companion(name: str, dest: Path) -> Path:
    """Write companion ``name`` under ``dest`` (created); returns its root."""
    src = template_root()
    root = dest / name
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if _SKIP.intersection(rel.parts) or path.suffix == ".pyc":
            continue
        target = root / Path(*(p.replace(TEMPLATE_NAME, name) for p in rel.parts))
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            text = path.read_text("utf-8")
        except UnicodeDecodeError:
            shutil.copyfile(path, target)
            continue
        target.write_text(text.replace(TEMPLATE_NAME, name), "utf-8")
    return root


def make_companions(dest: Path, count: int = DEFAULT_COUNT) -> list[Path]:
    if not template_root().is_dir():
        return []
    return [make_companion(name, dest) for name in companion_names(count)]
