"""The public names of harness.pg are a contract: changing them is a decision."""

from __future__ import annotations

import harness.pg


def test_public_names_are_pinned() -> None:
    assert sorted(harness.pg.__all__) == [
        "DSN_ENV",
        "PgServer",
        "PostgresUnavailable",
        "ProviderFailure",
        "REQUIRE_ENV",
        "last_errors",
        "postgres_required",
        "provision",
        "sweep_stale_clusters",
    ]
    for name in harness.pg.__all__:
        assert getattr(harness.pg, name) is not None


def test_importing_does_not_pull_in_pytest_or_testcontainers() -> None:
    import subprocess
    import sys

    code = (
        "import sys, harness.pg; "
        "print(sorted(m for m in ('pytest', 'testcontainers', 'docker') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "[]"
