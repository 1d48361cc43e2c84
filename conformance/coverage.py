"""CV — the extension's own tests: they run, they pass, they cover its code.

The runner runs the tests once per certification (``ctx.test_run()``), in a sandbox
of their own apart from the hosts' worker, on a read-only copy of the extension: the
tests named by ``[tests].paths`` run under coverage.py with branches, with the
harness's own rcfile and pytest configuration, measuring the packages of
``[tests].source``. The author's ``.coveragerc``, ``[tool.coverage]`` and
``.coverage`` files play no part. The parent collects the run's data and computes
the figure itself against its own copy of the sources; the run executes extension
code, so both checks are self-reported.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from dufflebag_harness.conformance._coverage_measure import (
    lowest_files,
    measure,
    parse_junit,
    source_files,
)
from dufflebag_harness.conformance._registry import check
from dufflebag_harness.conformance._types import REQUIRED, CheckContext, CheckFailed, TestRun

#: The floor on coverage.py's branch-aware total (the platform's success criterion SC-COV).
#: The checks cite REQ-9.3 (behaviour kept within a major version, which an own test
#: suite is how an author holds): report schema v0 admits only REQ-x.y citations.
REQUIRES = ("REQ-9.3",)
MIN_PERCENT = 80.0


def _run_evidence(run: TestRun) -> dict[str, object]:
    return {"exit_code": run.exit_code, "duration_s": run.duration_s,
            "output_tail": run.output_tail[-1500:]}


_SUMMARY = re.compile(r"\b(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")


def console_summary(output: str) -> dict[str, int] | None:
    """The counts of pytest's summary line (``1 failed, 3 passed in 0.52s``), read from
    the output the parent captured as it was written. A results file rewritten
    afterwards (or an exit code forced at exit) cannot take back what was printed, and a
    second, invented summary printed later cannot hide it: of every line shaped like a
    summary, the worst failure and error counts are kept."""
    worst: dict[str, int] | None = None
    for line in output.splitlines():
        if re.search(r" in \d+(\.\d+)?s\b", line) and _SUMMARY.search(line):
            found = {kind.rstrip("s") if kind.startswith("error") else kind: int(n)
                     for n, kind in _SUMMARY.findall(line)}
            if worst is None:
                worst = found
            else:
                for kind in ("failed", "error"):
                    worst[kind] = max(worst.get(kind, 0), found.get(kind, 0))
    return worst


@check(id="CV-01", title="The extension's own tests run and pass",
       requires=REQUIRES, severity=REQUIRED)
def own_tests_pass(ctx: CheckContext) -> None:
    """Ship tests under `[tests].paths` (pytest, `test_*.py`) that pass when the harness
    runs them: `python -I`, no plugin autoload, the harness's pytest plugin loaded."""
    run = ctx.test_run()
    if run.error:
        raise CheckFailed(f"the tests could not be run: {run.error}", _run_evidence(run))
    counts = parse_junit(run.junit)
    ctx.figure("tests", {**(counts.to_json() if counts else {}),
                         "exit_code": run.exit_code, "duration_s": run.duration_s,
                         "sandboxed": run.sandbox is not None})
    evidence = _run_evidence(run)
    if run.timed_out:
        raise CheckFailed(f"the tests did not finish within {run.duration_s:.0f} s",
                      evidence)
    if run.exit_code == 5 or (counts is not None and counts.ran == 0):
        raise CheckFailed(
            f"no test ran: pytest collected nothing under {list(ctx.manifest.tests.paths)} "
            "(test files are named test_*.py, test functions test_*)", evidence)
    if counts is None:
        raise CheckFailed(f"pytest produced no test results (exit code {run.exit_code})",
                          evidence)
    said = console_summary(run.output_tail)
    if said is None and run.exit_code == 0:
        raise CheckFailed(
            "pytest's summary line is missing from the run's console output although the run "
            "claims success: the output was suppressed or the reporter replaced, so the "
            "results cannot be trusted", {**evidence, "tests": counts.to_json()})
    if said is not None and (said.get("failed", 0) > counts.failures
                             or said.get("error", 0) > counts.errors):
        raise CheckFailed(
            f"the run's own records disagree: pytest's console said "
            f"{said.get('failed', 0)} failed and {said.get('error', 0)} errored, its JUnit "
            f"report says {counts.failures} and {counts.errors} (exit code {run.exit_code}): "
            "the results were changed after pytest wrote them",
            {**evidence, "tests": counts.to_json(), "console": said})
    if counts.failures or counts.errors or run.exit_code != 0:
        raise CheckFailed(
            f"{counts.failures} test(s) failed and {counts.errors} errored of {counts.total} "
            f"(pytest exit code {run.exit_code})", {**evidence, "tests": counts.to_json()})


@check(id="CV-02", title="The extension's own tests cover at least 80 % of its code, "
                         "branches included",
       requires=("SC-COV", *REQUIRES), severity=REQUIRED, blocked_by=("LC-01", "LC-03", "CV-01"))
def own_tests_cover(ctx: CheckContext) -> None:
    """Test every module of `[tests].source`, error paths and both sides of branches;
    coverage is measured by the harness with its own settings (your `.coveragerc`,
    `[tool.coverage]` and `omit` lists are ignored)."""
    original = ctx.manifest.root
    sources = source_files(original, ctx.manifest.tests.source)
    run = ctx.test_run()
    if run.error:
        raise CheckFailed(f"the tests could not be run: {run.error}", _run_evidence(run))
    with tempfile.TemporaryDirectory(prefix="dbh-cv-") as scratch:
        figures = measure(run.data_files, sources, original, Path(scratch),
                          ran_at=run.ran_at)
        summary = figures.to_json()
        ctx.figure("coverage", summary)
        if figures.percent < MIN_PERCENT:
            raise CheckFailed(
                f"the tests cover {figures.percent:.1f} % of {list(ctx.manifest.tests.source)} "
                f"(lines and branches), below {MIN_PERCENT:.0f} %",
                {"coverage": summary, "least_covered": lowest_files(figures),
                 "data_files": len(run.data_files)})
