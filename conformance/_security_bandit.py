"""Running bandit on the extension's source, the harness's way (parent side).

bandit reads source without importing it, so the signing process may run it.
The invocation is the harness's: the author's ``.bandit`` file is replaced by
an empty one, ``# nosec`` comments are ignored and bandit's own default
exclusions are off, so findings cannot be suppressed or hidden (in ``.tox/``,
``*.egg/``, ...) from inside the artifact. The extension's own tests are left out
(they do not ship into the host). A file bandit cannot parse is reported in
``errors`` with exit code 0 — the caller treats it as a failure, not a pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BanditError", "BanditRun", "run_bandit"]

TIMEOUT_S = 180.0


class BanditError(Exception):
    """bandit itself failed (not a finding): the check errors, it does not pass."""


@dataclass
class BanditRun:
    """Findings by severity and the files bandit could not read."""

    results: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    files: int = 0

    def at(self, severity: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r["severity"] == severity]


def _rel(file: object, root: Path) -> str:
    path = Path(str(file))
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _finding(raw: dict[str, Any], root: Path) -> dict[str, Any]:
    rel = _rel(raw.get("filename", ""), root)
    return {"where": f"{rel}:{raw.get('line_number', 0)}", "test": raw.get("test_id", ""),
            "severity": str(raw.get("issue_severity", "")).upper(),
            "confidence": str(raw.get("issue_confidence", "")).upper(),
            "text": str(raw.get("issue_text", ""))[:300]}


def run_bandit(root: Path, exclude: Sequence[str] = ()) -> BanditRun:
    """Scan ``root`` recursively; ``exclude`` holds folders relative to it (the tests)."""
    root = root.resolve()
    with tempfile.TemporaryDirectory(prefix="dbh-bandit-") as tmp:
        ini = Path(tmp) / "empty.bandit"
        ini.write_text("[bandit]\n", "utf-8")
        cmd = [sys.executable, "-m", "bandit", "-r", str(root), "-f", "json", "-q",
               "--ini", str(ini), "--ignore-nosec"]
        # Always pass -x: without it bandit applies its own defaults (.git, .tox, .eggs,
        # __pycache__, *.egg), matched as substrings of the whole path, so a root under a
        # folder named like them would be skipped entirely.
        excluded = [str((root / e).resolve()) for e in exclude if (root / e).exists()]
        cmd += ["-x", ",".join(excluded)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  cwd=tmp, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BanditError(f"bandit did not run: {exc}") from None
    if proc.returncode not in (0, 1):
        raise BanditError(f"bandit exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise BanditError(f"bandit printed no JSON: {proc.stdout[:200]!r}") from None
    metrics = data.get("metrics", {})
    return BanditRun(
        results=[_finding(r, root) for r in data.get("results", [])],
        errors=[{"file": _rel(e.get("filename", ""), root), "reason": str(e.get("reason", ""))}
                for e in data.get("errors", [])],
        files=len([k for k in metrics if k != "_totals"]),
    )
