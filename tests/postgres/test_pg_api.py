"""The public names of dufflebag_harness.outside.postgres are a contract: changing them is
a decision."""

from __future__ import annotations

import dufflebag_harness.outside.postgres


def test_public_names_are_pinned() -> None:
    assert sorted(dufflebag_harness.outside.postgres.__all__) == [
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
    for name in dufflebag_harness.outside.postgres.__all__:
        assert getattr(dufflebag_harness.outside.postgres, name) is not None


def test_importing_does_not_pull_in_pytest_or_testcontainers() -> None:
    import subprocess
    import sys

    code = (
        "import sys, dufflebag_harness.outside.postgres; "
        "print(sorted(m for m in ('pytest', 'testcontainers', 'docker') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "[]"
