"""CV, parent side: fetch what the test run left in the worker's folder and measure it here.

The worker runs the extension's tests (``coverage.run_tests`` probe) and only says
where the files are. The parent copies them out of the worker's temp folder
without following links (the folder belongs to the unprivileged worker user),
then computes the figure itself with coverage.py, against the extension's source
files as the parent read them (the files it digested, not the worker's copy):
files the tests never imported count as not covered even if the run's data does
not mention them, and data about any other file is ignored.

What this cannot rule out: the tests run the extension's code, so a test (or a
``conftest.py``) that rewrites the run's own data file could fake a figure. The
result is therefore marked self-reported (the run goes through a worker probe).
"""

from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dufflebag_harness.conformance._types import CheckContext, CheckFailed

__all__ = [
    "CoverageFigures",
    "FetchedRun",
    "TestCounts",
    "extension_root",
    "fetch_run",
    "lowest_files",
    "measure",
    "parse_junit",
    "source_files",
    "worker_ext_dir",
]

#: Caps on what the parent copies out of the worker (bytes).
MAX_DATA_BYTES = 256 * 1024 * 1024
MAX_JUNIT_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class TestCounts:
    """What pytest's JUnit XML says ran."""

    total: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0

    @property
    def passed(self) -> int:
        return max(self.total - self.failures - self.errors - self.skipped, 0)

    @property
    def ran(self) -> int:
        return max(self.total - self.skipped, 0)

    def to_json(self) -> dict[str, int]:
        # not "passed": evidence redaction takes keys starting with "pass" for passwords
        return {"succeeded": self.passed, "failed": self.failures, "errors": self.errors,
                "skipped": self.skipped, "total": self.total}


@dataclass(frozen=True)
class FetchedRun:
    """A test run's results, copied into the parent's own scratch folder."""

    exit_code: int | None
    timed_out: bool
    duration_s: float
    output_tail: str
    command: list[str]
    data_files: list[Path] = field(default_factory=list)
    junit: Path | None = None


@dataclass(frozen=True)
class CoverageFigures:
    """coverage.py's measure with branches: ``percent`` = (lines + branches covered) /
    (statements + branches), the "Cover" column of ``coverage report --branch``."""

    percent: float
    statements: int
    covered_lines: int
    branches: int
    covered_branches: int
    excluded_lines: int
    files: dict[str, float]
    never_imported: list[str]

    def to_json(self) -> dict[str, Any]:
        branch_pct = 100.0 * self.covered_branches / self.branches if self.branches else 100.0
        return {
            "percent": round(self.percent, 2),
            "lines_covered": self.covered_lines, "lines_total": self.statements,
            "branches_covered": self.covered_branches, "branches_total": self.branches,
            "branch_percent": round(branch_pct, 2),
            "excluded_lines": self.excluded_lines,
            "never_imported": self.never_imported,
        }


def worker_ext_dir(ctx: CheckContext) -> Path:
    """The folder the runner materialized extensions into, inside the worker's folder.

    Not part of the v0 check context: the runner's context carries its worker
    client, whose ``ext_dir`` is there. Without it the figure cannot be measured
    in the parent, so the check errors rather than trust the worker.
    """
    ext_dir = getattr(getattr(ctx, "worker", None), "ext_dir", None)
    if ext_dir is None:
        raise RuntimeError("the check context exposes no worker folder (worker.ext_dir): "
                           "coverage cannot be measured by the parent")
    return Path(ext_dir)


def extension_root(ext_dir: Path, name: str) -> Path:
    """Where the extension's ``extension.toml`` is: ``ext_dir/name`` or its single top folder."""
    dest = ext_dir / name
    if (dest / "extension.toml").is_file():
        return dest
    found = [p for p in dest.iterdir() if p.is_dir() and (p / "extension.toml").is_file()]
    if len(found) != 1:
        raise RuntimeError(f"no single extension.toml under {dest}")
    return found[0]


def source_files(root: Path, modules: Sequence[str]) -> list[Path]:
    """Every ``.py`` file of the manifest's ``[tests].source`` modules (resolved paths)."""
    out: set[Path] = set()
    for i, module in enumerate(modules):
        base = root.joinpath(*module.split("."))
        if base.is_dir() and not base.is_symlink():
            out.update(p.resolve() for p in base.rglob("*.py")
                       if p.is_file() and not p.is_symlink() and "__pycache__" not in p.parts)
        elif base.with_suffix(".py").is_file():
            out.add(base.with_suffix(".py").resolve())
        else:
            raise CheckFailed(
                f"extension.toml: [tests].source[{i}]: {module!r} is not a package or module "
                "of the extension, so coverage has nothing to measure",
                {"source": list(modules)},
            )
    return sorted(out)


def _copy_plain_file(src: Path, dest: Path, limit: int) -> int:
    """Copy a regular file without following a link at its last component; size-capped."""
    fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CheckFailed(f"test run left {src.name} that is not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise CheckFailed(f"test run left {src.name} larger than {limit} bytes")
    dest.write_bytes(data)
    return len(data)


def _inside(path: Path, root: Path) -> Path:
    """``path`` if it is a real folder (no links on the way) inside ``root``."""
    real = path.resolve()
    if not path.is_absolute() or real != path or not real.is_relative_to(root.resolve()):
        raise RuntimeError(f"the worker named {path} as its test-run folder, which is not a "
                           f"folder of its own inside {root}")
    return real


def fetch_run(run: Mapping[str, Any], worker_root: Path, scratch: Path) -> FetchedRun:
    """Copy the run's coverage data files and JUnit XML out of the worker's folder."""
    work = _inside(Path(str(run["workdir"])), worker_root)
    data_dir = _inside(work / "data", worker_root)
    (scratch / "data").mkdir(parents=True, exist_ok=True)
    copied: list[Path] = []
    total = 0
    with os.scandir(data_dir) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".coverage") and entry.is_file(follow_symlinks=False):
                dest = scratch / "data" / f".coverage.{len(copied)}"
                total += _copy_plain_file(Path(entry.path), dest, MAX_DATA_BYTES - total)
                copied.append(dest)
    junit: Path | None = None
    source = work / "junit.xml"
    if source.is_file() and not source.is_symlink():
        junit = scratch / "junit.xml"
        _copy_plain_file(source, junit, MAX_JUNIT_BYTES)
    code = run.get("exit_code")
    return FetchedRun(
        exit_code=int(code) if isinstance(code, int) else None,
        timed_out=bool(run.get("timed_out")), duration_s=float(run.get("duration_s", 0.0)),
        output_tail=str(run.get("output_tail", "")),
        command=[str(c) for c in run.get("command", [])], data_files=copied, junit=junit,
    )


def parse_junit(path: Path | None) -> TestCounts | None:
    """Totals over every ``<testsuite>``; ``None`` without a readable report."""
    if path is None:
        return None
    try:
        # untrusted XML: expat >= 2.4 (CPython 3.11) refuses entity-expansion bombs
        tree = ET.parse(path)
    except (ET.ParseError, OSError):
        return None
    root = tree.getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    if not suites:
        return None

    def count(key: str) -> int:
        try:
            return sum(max(int(s.get(key, "0")), 0) for s in suites)
        except ValueError:
            return 0

    return TestCounts(count("tests"), count("failures"), count("errors"), count("skipped"))


def measure(data_files: Sequence[Path], sources: Sequence[Path], root: Path,
            scratch: Path, *, ran_at: Path | None = None) -> CoverageFigures:
    """Combine the run's data and report on exactly ``sources`` (unimported ones count as 0).

    ``sources`` live under ``root``; when the tests ran on a copy at ``ran_at`` (the
    worker's), the data's paths are mapped back to ``root``, so the source that is
    analysed is the parent's own, never a copy the test run could have changed.
    """
    import coverage
    from coverage.exceptions import CoverageException

    include = [str(p) for p in sources]
    cov = coverage.Coverage(data_file=str(scratch / "combined.coverage"), config_file=False,
                            branch=True, include=include, messages=False)
    if ran_at is not None and ran_at.resolve() != root.resolve():
        cov.set_option("paths", {"source": [str(root.resolve()), str(ran_at.resolve())]})
    try:
        if data_files:
            cov.combine(data_paths=[str(p) for p in data_files], keep=True)
        data = cov.get_data()
        if data.has_arcs() is False and data.measured_files():
            raise CheckFailed("the coverage data has no branch information: it was not "
                              "written by the harness's coverage run")
        measured = {str(Path(f).resolve()) for f in data.measured_files()}
        data.add_arcs({})
        data.touch_files(include)
        out = scratch / "coverage.json"
        cov.json_report(outfile=str(out), include=include, ignore_errors=False)
    except CoverageException as exc:
        raise CheckFailed(f"the test run's coverage data could not be read: {exc}") from None
    report = json.loads(out.read_text("utf-8"))
    totals = report["totals"]
    files = {
        _relative(name, root): float(item["summary"]["percent_covered"])
        for name, item in report.get("files", {}).items()
    }
    never = sorted(_relative(p, root) for p in include if p not in measured)
    return CoverageFigures(
        percent=float(totals["percent_covered"]), statements=int(totals["num_statements"]),
        covered_lines=int(totals["covered_lines"]), branches=int(totals.get("num_branches", 0)),
        covered_branches=int(totals.get("covered_branches", 0)),
        excluded_lines=int(totals.get("excluded_lines", 0)), files=files, never_imported=never,
    )


def _relative(name: str, root: Path) -> str:
    """``name`` (absolute, or relative to our working directory as coverage reports it)
    relative to the extension's root."""
    path = Path(name) if Path(name).is_absolute() else Path.cwd() / name
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def lowest_files(figures: CoverageFigures, count: int = 8) -> dict[str, float]:
    """The least covered files, for evidence an author can act on."""
    ranked = sorted(figures.files.items(), key=lambda kv: (kv[1], kv[0]))[:count]
    return {name: round(pct, 1) for name, pct in ranked}

