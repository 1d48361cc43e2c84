"""nox sessions: tests, certify, lint, typecheck, html, bench, load, docs (``nox -l``)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

#: Tool versions shared with `.ci/run`.
CONSTRAINTS = ".ci/constraints.txt"


@nox.session
def tests(session: nox.Session) -> None:
    """The harness's own test suite."""
    session.install("-c", CONSTRAINTS, ".[dev]")
    session.run("python", "-m", "pytest", "-n", "auto", "-q", *session.posargs)


@nox.session
def certify(session: nox.Session) -> None:
    """Certify an extension (default: sample_extensions/analytics)."""
    session.install("-c", CONSTRAINTS, ".")
    target = session.posargs or ["sample_extensions/analytics"]
    session.run("dufflebag-cert", "certify", *target)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, plus the import rules of ARCHITECTURE.md (import-linter)."""
    session.install("-c", CONSTRAINTS, ".[dev]")
    session.run("ruff", "check", "harness", "conformance", "fixtures", "reports", "tests",
                "noxfile.py", "docs")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the harness's packages."""
    session.install("-c", CONSTRAINTS, ".[dev]")
    session.run("mypy")


@nox.session
def html(session: nox.Session) -> None:
    """Render real reports (a sample, and a failing rogue: its failure, fix and docs link)
    and load each in headless Chromium (DOM dump + screenshot)."""
    import shutil
    import tempfile

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        session.error("chromium not found: apt-get install chromium")
    session.install("-c", CONSTRAINTS, ".")
    out = tempfile.mkdtemp(prefix="dbhtml")
    session.run("dufflebag-cert", "certify", "sample_extensions/analytics", "--profile", "quick",
                "--out", f"{out}/report", success_codes=[0, 1, 3])
    session.run("dufflebag-cert", "certify", "sample_extensions/rogues/metadata_mismatch",
                "--only", "LC-01", "--unsigned", "--out", f"{out}/failing", success_codes=[1])
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={out}/profile"]
    for name, must_show in (("report", ("analytics", "<table")),
                            ("failing", ("LC-01@sqlite", "How to fix", "docs/checks.md#lc-01"))):
        page = f"file://{out}/{name}/report.html"
        dom = str(session.run(chromium, *flags, "--dump-dom", page, silent=True, external=True))
        missing = [text for text in must_show if text not in dom]
        if missing:
            session.error(f"{name}/report.html did not render in Chromium with {missing}")
        session.run(chromium, *flags, "--window-size=1300,1800",
                    f"--screenshot={out}/{name}.png", page, external=True)
        session.log(f"screenshot: {out}/{name}.png")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks of the host's per-request cost against bare Starlette (pytest-benchmark;
    fails when a target is missed), then the database figures, what the sandbox costs,
    and certification wall times as ratios to pytest's start-up. Arguments go to pytest."""
    session.install("-c", CONSTRAINTS, ".[dev]")
    session.run("python", "-m", "pytest", "tests/bench/bench_host.py", "-p", "no:cacheprovider",
                "--benchmark-disable-gc", "--benchmark-json=bench-host.json", *session.posargs)
    session.run("python", "-m", "tests.db.bench_db")
    session.run("python", "-m", "tests.bench.bench_sandbox", "quick", "2")
    session.run("python", "-m", "tests.bench.bench_certify", "2")


#: The checks the load session runs: overhead, locust load, memory, ten extensions at once.
LOAD_CHECKS = "PF-01,PF-03,PF-04,CC-01,CC-02"


@nox.session
def load(session: nox.Session) -> None:
    """Load, memory and concurrency checks alone, full profile, against an extension
    (default: sample_extensions/analytics). A subset never certifies: exit 3 is success."""
    session.install("-c", CONSTRAINTS, ".")
    target = session.posargs or ["sample_extensions/analytics"]
    session.run("dufflebag-cert", "certify", *target, "--profile", "full",
                "--only", LOAD_CHECKS, "--out", "certification/load", success_codes=[0, 3])


@nox.session
def docs(session: nox.Session) -> None:
    """Check docs/: relative links and anchors, every `dufflebag-cert` command and option
    shown (against its --help), `nox -s` sessions, code blocks that must parse, and that
    every page is reachable from docs/README.md; then run the documented examples."""
    session.install("-c", CONSTRAINTS, ".[dev]")
    session.run("python", "docs/check_docs.py")
    session.run("python", "-m", "pytest", "tests/docs/test_docs.py", "-p", "no:cacheprovider",
                *session.posargs)
