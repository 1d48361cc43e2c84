"""Run ``dufflebag-cert`` as a user would: a subprocess, its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dufflebag_harness", *args], capture_output=True, text=True,
        cwd=cwd or ROOT, env={**os.environ, **(env or {})}, timeout=timeout, check=False,
    )


def write_extension(parent: Path, name: str, body: str, *, cls: str = "Ext") -> Path:
    """A minimal one-module extension ``name`` whose package ``__init__`` is ``body``."""
    import textwrap

    root = parent / name
    (root / name).mkdir(parents=True)
    (root / "extension.toml").write_text(textwrap.dedent(f"""\
        [extension]
        name = "{name}"
        version = "1.0.0"
        entry = "{name}:{cls}"
        description = "test extension"
        license = "MIT"
        host_api = ">=1.0,<2"
        """))
    (root / name / "__init__.py").write_text(textwrap.dedent(body))
    return root


def assert_certified(exit_code: int, report: dict[str, Any], output: str) -> None:
    """A certified report (exit 0): every required pair passed. Exit 3 (provisional) is
    accepted only when the pairs left are PostgreSQL's, skipped because this machine has
    no server (with DUFFLEBAG_REQUIRE_POSTGRES=1 that run exits 2 instead)."""
    not_passed = [f"{r['check']}@{r['backend']}: {r['status']}" for r in report["results"]
                  if r["severity"] == "required" and r["status"] != "pass"]
    if exit_code == 3:
        assert all(p.endswith("@postgresql: skipped") for p in not_passed), not_passed
    else:
        assert exit_code == 0, output
        assert report["level"] == "certified" and not_passed == []
