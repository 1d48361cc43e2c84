"""Running a script inside the sandbox, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dufflebag_harness.outside.sandbox import SandboxSpec, start

#: The environment every test hands to the sandbox (and expects to see, exactly).
BASE_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp",
            "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run_inside(spec: SandboxSpec, script: str, *args: str, python: str | None = None,
               pass_fds: Sequence[int] = (), timeout: float = 120) -> Ran:
    """Run ``python -I -c script args...`` in the sandbox; wait for it (killed on timeout)."""
    python = python or spec.python or sys.executable
    proc = start(spec, [python, "-I", "-c", script, *args], pass_fds=pass_fds,
                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    return Ran(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"))


def host_pids_with(marker: str) -> list[int]:
    """Host pids whose command line holds ``marker`` (seen from the parent's /proc)."""
    return [pid for pid, cmdline in _host_cmdlines() if marker in cmdline]


def _host_cmdlines() -> Iterator[tuple[int, str]]:
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                yield int(entry), f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
