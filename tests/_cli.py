"""Run ``dufflebag-cert`` as a user would: a subprocess, its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
