"""Worker probe for CV: run the extension's own tests under the harness's coverage invocation.

The worker only *runs* the tests; it judges nothing and computes no figure. The
test run is a child process of the worker (so it has the worker's uid and never
sees the parent's environment), in ``python -I`` with a clean environment, under
``coverage run`` with an rcfile the harness writes: the author's ``.coveragerc``,
``setup.cfg``, ``tox.ini`` and ``pyproject.toml`` are never read (explicit
``--rcfile``, and the run's working directory is an empty folder of ours), and the
author's pytest configuration is replaced by ours (``-c``). ``conftest.py`` files
of the extension still apply: they are part of its tests.

The probe answers where the run left its files (coverage data, JUnit XML, the
output); the parent copies them, computes the coverage figure itself and decides.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dufflebag_harness.inside.worker._server import WorkerServer

__all__ = ["PROBES", "probe_run_tests", "suite_command"]

#: Longest test run the probe waits for unless told otherwise (seconds).
DEFAULT_TIMEOUT_S = 300.0
#: Characters of the run's output returned to the parent (the end is what matters).
OUTPUT_TAIL = 6000

_RCFILE = """\
# Written by dufflebag-harness for one test run; the author's coverage settings are ignored.
[run]
branch = true
parallel = true
patch = subprocess
data_file = {data_file}
source_pkgs =
{packages}
"""

_PYTEST_INI = """\
# Written by dufflebag-harness: the author's pytest configuration is not used.
[pytest]
junit_family = xunit2
"""


def _arg_list(args: dict[str, Any], key: str) -> list[str]:
    value = args.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"coverage.run_tests: {key!r} must be a list of non-empty strings")
    return list(value)


def suite_command(root: Path, tests: list[Path], rcfile: Path, ini: Path,
                 junit: Path) -> list[str]:
    """The exact command line of a test run (the report can quote it)."""
    return [
        sys.executable, "-I", "-m", "coverage", "run", f"--rcfile={rcfile}",
        "-m", "pytest", "-p", "dufflebag_harness.fixtures.plugin", "-p", "no:cacheprovider",
        # coverage is measured on SQLite; PostgreSQL behaviour has its own checks (DB, IS)
        "--dufflebag-backends=sqlite",
        "-c", str(ini), f"--rootdir={root}", f"--confcutdir={root}",
        "-q", "-rfE", "--tb=short", "--no-header", f"--junitxml={junit}",
        *(str(t) for t in tests),
    ]


def _environment(work: Path) -> dict[str, str]:
    """Built from nothing: whatever the extension set in the worker's environment is dropped."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def probe_run_tests(server: WorkerServer, args: dict[str, Any]) -> dict[str, Any]:
    """Run the tests at ``paths`` (relative to ``root``) measuring ``source`` packages.

    Returns ``{workdir, data_dir, junit, exit_code, timed_out, duration_s,
    output_tail, command}``; ``exit_code`` is pytest's (5: nothing collected),
    ``None`` when the run was killed at ``timeout_s``.
    """
    root = Path(str(args.get("root", "")))
    if not root.is_absolute() or not (root / "extension.toml").is_file():
        raise ValueError(f"coverage.run_tests: root {str(root)!r} is not an extension folder")
    paths, packages = _arg_list(args, "paths"), _arg_list(args, "source")
    tests = [root / p for p in paths]
    outside = [p for p in paths if not (root / p).resolve().is_relative_to(root.resolve())]
    if outside:
        raise ValueError(f"coverage.run_tests: test path {outside[0]!r} is outside {root}")
    timeout = float(args.get("timeout_s", DEFAULT_TIMEOUT_S))
    work = Path(tempfile.mkdtemp(prefix="dbcov-"))
    for sub in ("data", "home", "tmp", "cwd"):
        (work / sub).mkdir()
    rcfile, ini, junit = work / "coveragerc", work / "pytest.ini", work / "junit.xml"
    rcfile.write_text(_RCFILE.format(data_file=work / "data" / ".coverage",
                                     packages="\n".join(f"    {p}" for p in packages)))
    ini.write_text(_PYTEST_INI)
    command = suite_command(root, tests, rcfile, ini, junit)
    output = work / "output.txt"
    t0 = time.perf_counter()
    with open(output, "wb") as sink:
        proc = subprocess.Popen(command, cwd=work / "cwd", env=_environment(work),
                                stdin=subprocess.DEVNULL, stdout=sink,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code: int | None = proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            code, timed_out = None, True
        finally:
            _kill_group(proc.pid)  # also whatever the tests left running
            proc.wait()
    duration = time.perf_counter() - t0
    text = output.read_bytes()[-OUTPUT_TAIL * 4:].decode("utf-8", "replace")
    return {
        "workdir": str(work), "data_dir": str(work / "data"), "junit": str(junit),
        "exit_code": code, "timed_out": timed_out, "duration_s": round(duration, 3),
        "output_tail": text[-OUTPUT_TAIL:], "command": command,
    }


Probe = Callable[["WorkerServer", dict[str, Any]], dict[str, Any]]

PROBES: dict[str, Probe] = {"coverage.run_tests": probe_run_tests}
