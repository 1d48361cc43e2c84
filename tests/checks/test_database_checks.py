"""The database checks as a user meets them: a good extension passes them on both backends,
judged from outside on PostgreSQL; the pieces they stand on (statement timeouts, role
attempts that keep nothing) behave as the checks assume."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from _cli import ROOT

from dufflebag_harness.inside.db import SqliteProvider, StatementTimeout
from dufflebag_harness.inside.db.postgres import PgAdmin
from dufflebag_harness.outside.postgres import (
    PgServer,
    PostgresUnavailable,
    postgres_required,
    provision,
)
from dufflebag_harness.outside.postgres.databases import PgProvisioner
from dufflebag_harness.outside.postgres.inspector import PgInspector
from dufflebag_harness.outside.runner import CertifyOptions, certify

ANALYTICS = ROOT / "sample_extensions" / "analytics"
DATABASE_CHECKS = ["IS-01", "DB-01", "DB-02", "DB-03", "DB-04", "DB-05", "DB-06"]
ENDLESS = "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t"


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    try:
        found = provision()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))
    if found is None:
        if postgres_required():
            pytest.fail("no PostgreSQL and DUFFLEBAG_REQUIRE_POSTGRES=1")
        pytest.skip("no PostgreSQL server available")
    yield found
    found.close()


@pytest.mark.postgres
def test_analytics_passes_every_database_check_judged_from_outside_on_postgresql(
    server: PgServer, tmp_path: Path
) -> None:
    outcome = certify(CertifyOptions(path=ANALYTICS, out=tmp_path / "out", profile="quick",
                                     only=DATABASE_CHECKS, seed=3, pg_dsn=server.admin_dsn))
    results = {f"{r['check']}@{r['backend']}": r for r in outcome.report["results"]
               if r["check"] in DATABASE_CHECKS}
    assert len(results) == 2 * len(DATABASE_CHECKS)
    assert {pair: r["status"] for pair, r in results.items()} == {
        pair: "pass" for pair in results}, {p: r["reason"] for p, r in results.items()}
    # SQLite lives in the worker: its reads are probes. PostgreSQL is read by the parent,
    # except the fresh-import comparison of migration texts (only the worker can import).
    self_reported = sorted(p for p, r in results.items() if r["self_reported"])
    assert self_reported == sorted([f"{c}@sqlite" for c in DATABASE_CHECKS]
                                   + ["DB-05@postgresql"])


def test_sqlite_interrupts_a_runaway_statement_and_the_pool_recovers() -> None:
    provider = SqliteProvider(statement_timeout=0.3)
    try:
        db = provider.for_extension("alpha")
        started = time.monotonic()
        with pytest.raises(StatementTimeout, match="statement timeout"):
            anyio.run(db.fetch_all, ENDLESS)
        assert time.monotonic() - started < 3
        anyio.run(db.execute, "CREATE TABLE t (x INTEGER)")
        anyio.run(db.execute, "INSERT INTO t VALUES (1)")
        time.sleep(0.4)  # idle time between statements does not count
        assert anyio.run(db.fetch_all, "SELECT x FROM t") == [{"x": 1}]
    finally:
        provider.close()


@pytest.mark.postgres
def test_attempts_as_an_extension_hear_the_server_and_keep_nothing(server: PgServer) -> None:
    provisioner = PgProvisioner(PgAdmin.of(server))
    try:
        grants = provisioner.create({"alpha": 2, "beta": 2})
        inspector = PgInspector(provisioner.admin, grants)
        outcomes = inspector.attempt("alpha", [
            "CREATE TABLE mine (x INTEGER)",
            "SELECT * FROM ext_beta.anything",
            "CREATE TABLE core.intruder (x INTEGER)",
        ])
        assert [(o["ok"], o["denied"]) for o in outcomes] == [
            (True, False), (False, True), (False, True)]
        assert "permission denied for schema ext_beta" in outcomes[1]["message"]
        assert inspector.structure("ext_alpha")["tables"] == {}  # the allowed one rolled back
        with pytest.raises(LookupError, match="gamma"):
            inspector.attempt("gamma", ["SELECT 1"])
    finally:
        provisioner.close()
    assert provisioner.live() == []
