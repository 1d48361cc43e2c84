"""The extension's own tests, run once per certification in a sandbox of their own.

The tests execute extension code *in the test process* (that is what tests do), and
so does a ``conftest.py``: whatever they do in there is out of the harness's sight.
What the harness can decide is where that process runs and what it can reach:

* **Its own sandbox**, not the host worker's: a test run (or a daemon it leaves)
  cannot touch the worker whose hosts the other checks judge, its folders, its
  memory or its later runs. The sandbox is the worker's kind (see
  :mod:`dufflebag_harness.outside.sandbox`): no network, only its own processes,
  a fresh uid, and every process gone when the run ends.
* **Its own copy of the extension, read-only.** The copy is made from the artifact
  the parent digested; the test run cannot change the code later runs import, and
  coverage is measured against the parent's own files, never this copy.
* **The harness's invocation**: ``python -I``, a clean environment, ``coverage run``
  with branches and an rcfile the harness writes, pytest with the harness's
  configuration (``-c``) and plugin autoload off; the author's ``.coveragerc``,
  ``setup.cfg``, ``tox.ini`` and ``pyproject.toml`` are never read. The rcfile and
  the pytest configuration are in a read-only folder.
* **Results collected by the parent**: the run's stdout/stderr through a pipe the
  parent drains, the coverage data files and JUnit XML copied out of the run's folder
  without following links and capped in size, after every process has ended.

One run feeds every check that needs it (CV-01 and CV-02): the runner keeps a
:class:`TestRunner` per certification and hands out its single result. The verdicts
built on it stay *self-reported*: code inside the run could still fake its own
outcome (the static gate SE-05 looks for the ways to do that).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dufflebag_harness.outside.loader import Manifest, materialize
from dufflebag_harness.outside.sandbox import SandboxRecord, SandboxSpec, detect_sandbox
from dufflebag_harness.outside.sandbox import start as start_sandboxed
from dufflebag_harness.outside.worker_client import HARNESS_MEMORY_MB, harness_source_dirs

__all__ = [
    "MAX_DATA_BYTES",
    "MAX_JUNIT_BYTES",
    "SUITE_TIMEOUT_S",
    "TestRunResult",
    "TestRunner",
    "suite_command",
]

#: Longest test run the harness waits for (seconds).
SUITE_TIMEOUT_S = 300.0
#: Caps on what the parent copies out of the run's folder (bytes).
MAX_DATA_BYTES = 256 * 1024 * 1024
MAX_JUNIT_BYTES = 32 * 1024 * 1024
#: Characters of the run's output kept (the end is what matters).
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


@dataclass(frozen=True)
class TestRunResult:
    """What one run of the extension's tests left, in the parent's own folder.

    ``exit_code`` is pytest's (5: nothing collected), ``None`` when the run was killed
    at its deadline (``timed_out``) or could not start (``error`` says why).
    ``ran_at`` is the extension root the tests ran against (coverage data names
    files there); ``sandbox`` is the record of the sandbox it ran in, ``None`` when
    the machine had none.
    """

    __test__ = False  # not a pytest class, whatever its name

    exit_code: int | None
    timed_out: bool
    duration_s: float
    output_tail: str
    command: list[str]
    ran_at: Path
    data_files: list[Path] = field(default_factory=list)
    junit: Path | None = None
    sandbox: dict[str, Any] | None = None
    error: str = ""


def suite_command(root: Path, tests: Sequence[Path], rcfile: Path, ini: Path,
                  junit: Path, python: str | None = None) -> list[str]:
    """The exact command line of a test run (the report quotes it); ``python``: the
    extension's environment's interpreter (default the harness's own)."""
    return [
        python or sys.executable, "-I", "-m", "coverage", "run", f"--rcfile={rcfile}",
        "-m", "pytest", "-p", "dufflebag_harness.fixtures.plugin", "-p", "no:cacheprovider",
        # coverage is measured on SQLite; PostgreSQL behaviour has its own checks (DB, IS)
        "--dufflebag-backends=sqlite",
        "-c", str(ini), f"--rootdir={root}", f"--confcutdir={root}",
        "-q", "-rfE", "--tb=short", "--no-header", f"--junitxml={junit}",
        *(str(t) for t in tests),
    ]


def _environment(work: Path) -> dict[str, str]:
    """Built from nothing: no key, no GNUPGHOME, nothing of the harness's settings."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


class _Tail:
    """Drains a pipe in a thread, keeping the last bytes of what came through."""

    def __init__(self, fd: int, keep: int = OUTPUT_TAIL * 4) -> None:
        self._fd, self._keep = fd, keep
        self._data = bytearray()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self._fd, 65536):
                self._data += chunk
                if len(self._data) > 2 * self._keep:
                    del self._data[: len(self._data) - self._keep]
        with contextlib.suppress(OSError):
            os.close(self._fd)

    def text(self, timeout: float = 5.0) -> str:
        self._thread.join(timeout)
        return bytes(self._data[-self._keep:]).decode("utf-8", "replace")[-OUTPUT_TAIL:]


def _copy_plain_file(src: Path, dest: Path, limit: int) -> int:
    """Copy a regular file without following a link at its last component; size-capped.
    Returns the bytes copied; a link, a fifo or an oversized file is refused."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{src.name} is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise OSError(f"{src.name} is larger than {limit} bytes")
    dest.write_bytes(data)
    return len(data)


def _real_folder(path: Path) -> bool:
    with contextlib.suppress(OSError):
        return stat.S_ISDIR(os.lstat(path).st_mode)
    return False


class TestRunner:
    """Runs the extension's tests once, on first :meth:`result`, and keeps the result
    until :meth:`close` removes every file of it. Use as a context manager."""

    __test__ = False

    def __init__(self, manifest: Manifest, *, sandbox: bool,
                 timeout_s: float = SUITE_TIMEOUT_S) -> None:
        self.manifest = manifest
        self.sandbox = sandbox
        self.timeout_s = timeout_s
        self._base: Path | None = None
        self._result: TestRunResult | None = None
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._closed = False

    def result(self) -> TestRunResult:
        with self._lock:
            if self._result is None:
                self._result = self._run()
            return self._result

    # -- the run -----------------------------------------------------------------
    def _run(self) -> TestRunResult:
        if self._closed:
            raise RuntimeError("the test runner is closed")
        if self._base is not None:  # an earlier attempt that raised
            shutil.rmtree(self._base, ignore_errors=True)
        base = self._base = Path(tempfile.mkdtemp(prefix="dbt-"))
        conf, work, results = base / "conf", base / "work", base / "results"
        for folder in (conf, work, results, results / "data"):
            folder.mkdir()
        for sub in ("data", "home", "tmp", "cwd"):
            (work / sub).mkdir()
        m = self.manifest
        root = materialize(m.root, base / "ext" / m.name)
        tests = [root / p for p in m.tests.paths]
        outside = [p for p, t in zip(m.tests.paths, tests, strict=True)
                   if not t.resolve().is_relative_to(root.resolve())]
        rcfile, ini, junit = conf / "coveragerc", conf / "pytest.ini", work / "junit.xml"
        # the extension's declared dependencies: its environment, shown read-only
        env_dir = m.environment.path if m.environment is not None else None
        command = suite_command(root, tests, rcfile, ini, junit,
                                python=m.environment.python if env_dir else None)
        if outside:
            return TestRunResult(None, False, 0.0, "", command, root,
                                 error=f"[tests].paths: {outside[0]!r} is outside the extension")
        rcfile.write_text(_RCFILE.format(
            data_file=work / "data" / ".coverage",
            packages="\n".join(f"    {p}" for p in m.tests.source)))
        ini.write_text(_PYTEST_INI)
        env = _environment(work)
        out_r, out_w = os.pipe()
        record: dict[str, Any] | None = None
        t0 = time.perf_counter()
        try:
            if self.sandbox:
                spec = SandboxSpec(
                    env=env, cwd=str(work / "cwd"), rw_binds=(str(work),),
                    ro_binds=(*harness_source_dirs(), str(base / "ext"), str(conf),
                              *([str(env_dir)] if env_dir else [])),
                    memory_mb=m.quotas.memory_mb + HARNESS_MEMORY_MB,
                    uid=1000 + secrets.randbelow(60000))
                status = detect_sandbox()
                self._proc = start_sandboxed(spec, command, stdin=subprocess.DEVNULL,
                                             stdout=out_w, stderr=out_w,
                                             start_new_session=True, status=status)
                record = SandboxRecord.from_spec(spec, status).to_json()
            else:
                self._proc = subprocess.Popen(command, cwd=work / "cwd", env=env,
                                              stdin=subprocess.DEVNULL, stdout=out_w,
                                              stderr=out_w, start_new_session=True)
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
        tail = _Tail(out_r)
        if self._closed:  # closed while it started: it ends now, like any other
            self._kill()
        try:
            code: int | None = self._proc.wait(timeout=self.timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            code, timed_out = None, True
        finally:
            self._kill()
        duration = time.perf_counter() - t0
        data_files, junit_copy, problems = self._collect(work, results)
        output = tail.text()
        if problems:
            output += "\n[dufflebag-harness] " + "; ".join(problems)
        return TestRunResult(
            exit_code=code, timed_out=timed_out, duration_s=round(duration, 3),
            output_tail=output[-OUTPUT_TAIL:], command=command, ran_at=root,
            data_files=data_files, junit=junit_copy, sandbox=record,
        )

    def _kill(self) -> None:
        """End the run and whatever it started (the sandbox ends with bwrap)."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    @staticmethod
    def _collect(work: Path, results: Path) -> tuple[list[Path], Path | None, list[str]]:
        """Copy coverage data and JUnit XML out of the run's folder, refusing links."""
        copied: list[Path] = []
        problems: list[str] = []
        total = 0
        if _real_folder(work / "data"):
            with os.scandir(work / "data") as entries:
                for entry in sorted(entries, key=lambda e: e.name):
                    if not entry.name.startswith(".coverage"):
                        continue
                    dest = results / "data" / f".coverage.{len(copied)}"
                    try:
                        total += _copy_plain_file(Path(entry.path), dest, MAX_DATA_BYTES - total)
                    except OSError as exc:
                        problems.append(f"coverage data {entry.name} not read: {exc}")
                        continue
                    copied.append(dest)
        junit: Path | None = None
        if (work / "junit.xml").exists() or (work / "junit.xml").is_symlink():
            try:
                _copy_plain_file(work / "junit.xml", results / "junit.xml", MAX_JUNIT_BYTES)
                junit = results / "junit.xml"
            except OSError as exc:
                problems.append(f"JUnit report not read: {exc}")
        return copied, junit, problems

    def close(self) -> None:
        """End a run in progress (from any thread) and remove every file of it."""
        self._closed = True
        self._kill()
        with self._lock:  # a run in progress ends quickly once killed
            self._kill()
            if self._base is not None:
                shutil.rmtree(self._base, ignore_errors=True)
                self._base = None

    def __enter__(self) -> TestRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
