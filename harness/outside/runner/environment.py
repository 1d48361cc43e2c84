"""Facts about the run's environment and the harness itself, for the report."""

from __future__ import annotations

import hashlib
import platform
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

OWN_PACKAGES = ("dufflebag_harness",)
_HASHED_SUFFIXES = (".py", ".toml", ".json", ".j2", ".html", ".css")


@lru_cache(maxsize=1)
def harness_digest() -> str:
    """sha256 over the harness's own source files (sorted paths + bytes).

    Two reports with the same digest were produced by the same harness code.
    """
    h = hashlib.sha256()
    for package in OWN_PACKAGES:
        root = Path(str(resources.files(package)))
        for path in sorted(root.rglob("*")):
            if not path.is_file() or path.suffix not in _HASHED_SUFFIXES:
                continue
            if "__pycache__" in path.parts:
                continue
            rel = f"{package}/{path.relative_to(root).as_posix()}".encode()
            data = path.read_bytes()
            h.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    return "sha256:" + h.hexdigest()


def environment_facts() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
    }
