"""A dependency that exists only as an sdist is built into a wheel inside the sandbox.

Building runs the package's own code (its ``setup.py`` or build backend), so it never
happens in the parent: ``pip wheel`` runs in a bubblewrap sandbox (no network, a fresh
uid, only the sdist, the harness's interpreter and its packages shown read-only, a folder
of its own to write) with build isolation off, so the build backend must be one the
harness's environment has (setuptools). The wheel it makes is then installed like any
other: unpacked, none of its code run. Only sdists in a ``--find-links`` folder are built.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from packaging.utils import canonicalize_name

from dufflebag_harness.outside.environments.build import DependencyError
from dufflebag_harness.outside.sandbox import SandboxSpec, detect_sandbox, start
from dufflebag_harness.outside.worker_client import harness_source_dirs

__all__ = ["build_in_sandbox", "needs_wheel", "sdist_for"]

_NEEDS_WHEEL = re.compile(r"Wheels are required for `([^`]+)`")
_SUFFIXES = (".tar.gz", ".zip")
BUILD_TIMEOUT_S = 600
BUILD_MEMORY_MB = 2048


def needs_wheel(message: str) -> str | None:
    """The package an installer refused because it has no wheel (``--no-build``)."""
    match = _NEEDS_WHEEL.search(message)
    return str(canonicalize_name(match.group(1))) if match else None


def sdist_for(name: str, find_links: Sequence[Path]) -> Path | None:
    """The newest-named sdist of ``name`` in the wheelhouses, if any."""
    found = []
    for folder in find_links:
        for path in sorted(Path(folder).iterdir()):
            suffix = next((s for s in _SUFFIXES if path.name.endswith(s)), None)
            if suffix is None or "-" not in path.name:
                continue
            project = path.name[: -len(suffix)].rsplit("-", 1)[0]
            if canonicalize_name(project) == name:
                found.append(path)
    return found[-1] if found else None


def build_in_sandbox(sdist: Path, out: Path) -> Path:
    """Build ``sdist`` into a wheel in the sandbox; the wheel is copied into ``out``."""
    status = detect_sandbox()
    if not status.usable:
        raise DependencyError(f"{sdist.name} has no wheel and building it runs its code, "
                              f"which happens only in the sandbox: none here ({status.reason}; "
                              f"fix: {status.fix})")
    work = Path(tempfile.mkdtemp(prefix="dbsdist-"))
    logs = Path(tempfile.mkdtemp(prefix="dbsdistl-"))
    try:
        for sub in ("in", "wheels", "home", "tmp", "cwd"):
            (work / sub).mkdir()
        shutil.copy(sdist, work / "in" / sdist.name)
        argv = [sys.executable, "-I", "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "--no-index", "--no-cache-dir", "--disable-pip-version-check", "-q",
                "-w", str(work / "wheels"), str(work / "in" / sdist.name)]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "HOME": str(work / "home"), "TMPDIR": str(work / "tmp"),
               "PYTHONDONTWRITEBYTECODE": "1"}
        spec = SandboxSpec(env=env, cwd=str(work / "cwd"), rw_binds=(str(work),),
                           ro_binds=tuple(harness_source_dirs()), memory_mb=BUILD_MEMORY_MB,
                           uid=1000 + secrets.randbelow(60000))
        with open(logs / "build.log", "wb") as log:
            proc = start(spec, argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         start_new_session=True, status=status)
            try:
                code = proc.wait(timeout=BUILD_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise DependencyError(f"building {sdist.name} in the sandbox took longer than "
                                      f"{BUILD_TIMEOUT_S} s") from None
        wheels = sorted((work / "wheels").glob("*.whl"))
        if code != 0 or len(wheels) != 1:
            tail = (logs / "build.log").read_text("utf-8", "replace").strip()[-1500:]
            raise DependencyError(f"building {sdist.name} in the sandbox failed (exit {code}, "
                                  f"{len(wheels)} wheel(s)): {tail}")
        out.mkdir(parents=True, exist_ok=True)
        target = out / wheels[0].name
        shutil.copyfile(wheels[0], target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)
