"""nox sessions: tests, certify, lint, typecheck (``nox -l`` lists them)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The harness's own test suite."""
    session.install(".[dev]")
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def certify(session: nox.Session) -> None:
    """Certify an extension (default: sample_extensions/analytics)."""
    session.install(".")
    target = session.posargs or ["sample_extensions/analytics"]
    session.run("dufflebag-cert", "certify", *target)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, plus the import rules of ARCHITECTURE.md (import-linter)."""
    session.install(".[dev]")
    session.run("ruff", "check", "harness", "conformance", "fixtures", "reports", "tests")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the harness's packages."""
    session.install(".[dev]")
    session.run("mypy")
