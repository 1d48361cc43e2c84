"""CV, parent side: read what the extension's test run left and measure it here.

The runner runs the tests in their own sandbox and copies the coverage data and
JUnit XML into the parent's folder (``ctx.test_run()``). The figure is computed
here with coverage.py, against the extension's source files as the parent read
them (the files it digested, not the run's copy): files the tests never imported
count as not covered even if the run's data does not mention them, and data about
any other file is ignored.

What this cannot rule out: the tests run the extension's code, so a test (or a
``conftest.py``) that rewrites the run's own data file could fake a figure. The
results are therefore self-reported.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dufflebag_harness.conformance._types import CheckFailed

__all__ = [
    "CoverageFigures",
    "TestCounts",
    "lowest_files",
    "measure",
    "parse_junit",
    "source_files",
]

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

