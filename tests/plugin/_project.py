"""An author's project, as `dufflebag-cert new` makes it, and pytest run in it as they would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from dufflebag_harness.outside.scaffold import scaffold

__all__ = ["new_project", "outcomes", "run_pytest"]


def new_project(parent: Path, name: str = "hello", files: dict[str, str] | None = None) -> Path:
    """Scaffold extension ``name`` under ``parent``, then write ``files`` (dedented) into it."""
    root = parent / name
    scaffold(name, root)
    for rel, text in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def run_pytest(root: Path, *args: str, env: dict[str, str] | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` in ``root``: the installed harness, the author's environment."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=root, env={**base, **(env or {})}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )


def outcomes(junit: Path) -> dict[str, str]:
    """Test name (with parameters) → ``passed``, ``failed``, ``error`` or ``skipped``."""
    found: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {"failure": "failed"}.get(child.tag, child.tag)
        found[case.get("name", "")] = status
    return found
