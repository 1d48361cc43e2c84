"""PostgreSQL as a certification backend: provisioned once per run, grants only in the
worker, nothing left behind, and a clear exit 2 when it is required or named but missing."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from _cli import ROOT, run_cli

from dufflebag_harness.inside.db.pg_grants import PgGrantedProvider
from dufflebag_harness.inside.worker._databases import DatabaseArgsError, provider_from_args
from dufflebag_harness.outside.postgres import PgServer, postgres_required, provision
from dufflebag_harness.outside.postgres._binaries import find_bindir
from dufflebag_harness.outside.postgres.databases import MAX_POOL, PgAdmin, PgProvisioner
from dufflebag_harness.outside.runner import BadInput, CertifyOptions, certify
from dufflebag_harness.outside.runner.backends import Backends
from dufflebag_harness.outside.worker_client import WorkerClient

pytestmark = pytest.mark.postgres

ANALYTICS = ROOT / "sample_extensions" / "analytics"
ROLE_FLAGS = ("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
              "rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = %s")


@pytest.fixture(autouse=True)
def _own_server_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test picks its server: none from the caller's environment, no Docker engine."""
    monkeypatch.delenv("DUFFLEBAG_PG_DSN", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/dufflebag-test-docker.sock")
    if find_bindir() is None:
        message = "no PostgreSQL server binaries on this machine"
        if postgres_required():
            pytest.fail(message + " and DUFFLEBAG_REQUIRE_POSTGRES=1")
        pytest.skip(message)


@pytest.fixture
def spy_provision(monkeypatch: pytest.MonkeyPatch) -> list[PgServer]:
    """Every server the runner provisions, in order."""
    made: list[PgServer] = []

    def counting(*args: Any, **kwargs: Any) -> PgServer | None:
        server = provision(*args, **kwargs)
        if server is not None:
            made.append(server)
        return server

    monkeypatch.setattr("dufflebag_harness.outside.runner.backends.provision", counting)
    return made


@pytest.fixture
def backends() -> Iterator[Backends]:
    b = Backends(require_postgres=True)
    b.prepare({"sqlite", "postgresql"})
    yield b
    b.close()


def _admin(server: PgServer, dbname: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(host=server.host, port=server.port, user=server.user,
                           password=server.password, dbname=dbname, autocommit=True)


def _as(args: dict[str, Any], grant: dict[str, Any]) -> psycopg.Connection[Any]:
    return psycopg.connect(host=args["host"], port=args["port"], dbname=args["dbname"],
                           user=grant["user"], password=grant["password"], autocommit=True)


def test_a_run_provisions_once_and_hands_out_unprivileged_logins(
    spy_provision: list[PgServer],
) -> None:
    b = Backends(require_postgres=True)
    try:
        b.prepare({"sqlite", "postgresql"})
        b.prepare({"postgresql"})
        first = b.host_database("postgresql", ["alpha", "beta"], pool_sizes={"alpha": 500})
        second = b.host_database("postgresql", ["alpha"])
        [server] = spy_provision
        assert b.environment() == {"version": server.version, "provider": "local"}
        assert first["dbname"] != second["dbname"]
        assert server.password not in json.dumps([first, second])
        with _admin(server) as admin:
            for grant in [first["core"], *first["extensions"].values()]:
                assert grant["user"] != server.user
                flags = admin.execute(ROLE_FLAGS, (grant["user"],)).fetchone()
                assert flags is not None and flags[:6] == (False,) * 5 + (True,)
            alpha = admin.execute(ROLE_FLAGS, (first["extensions"]["alpha"]["user"],)).fetchone()
        assert alpha is not None and alpha[6] == MAX_POOL + 1  # a quota of 500 is capped
        with _as(first, first["core"]) as core:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                core.execute("CREATE DATABASE stolen")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                core.execute("CREATE ROLE intruder")
        with _as(first, first["extensions"]["alpha"]) as alpha_conn:
            alpha_conn.execute("CREATE TABLE notes (x INTEGER)")
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="schema ext_beta"):
                alpha_conn.execute("CREATE TABLE ext_beta.notes (x INTEGER)")
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            _as(second, first["extensions"]["alpha"]).close()  # another host's database
    finally:
        b.close()


def test_release_drops_the_database_and_its_roles_and_close_stops_the_cluster(
    spy_provision: list[PgServer],
) -> None:
    b = Backends(require_postgres=True)
    b.prepare({"postgresql"})
    [server] = spy_provision
    kept, released = (b.host_database("postgresql", ["alpha"]) for _ in range(2))
    b.release(released)
    with _admin(server) as admin:
        names = {r[0] for r in admin.execute("SELECT datname FROM pg_database")}
        roles = {r[0] for r in admin.execute("SELECT rolname FROM pg_roles")}
    assert kept["dbname"] in names and released["dbname"] not in names
    assert released["core"]["user"] not in roles
    assert released["extensions"]["alpha"]["user"] not in roles
    cluster = Path(server.host)
    postmaster = int((cluster / "data" / "postmaster.pid").read_text().split()[0])
    b.close()
    assert not cluster.exists()
    assert not psutil.pid_exists(postmaster) or \
        psutil.Process(postmaster).status() == psutil.STATUS_ZOMBIE


def test_the_worker_side_provider_connects_with_the_grants_it_is_given(
    backends: Backends,
) -> None:
    args = backends.host_database("postgresql", ["alpha"])
    provider = provider_from_args(args)
    assert isinstance(provider, PgGrantedProvider)
    try:
        with provider.core_engine().connect() as conn:
            assert conn.exec_driver_sql("SELECT current_user").scalar() == args["core"]["user"]
            assert conn.exec_driver_sql("SHOW search_path").scalar() == "core"
        db = provider.for_extension("alpha")
        with db.engine.connect() as conn:
            user = conn.exec_driver_sql("SELECT current_user").scalar()
        assert user == args["extensions"]["alpha"]["user"]
        with pytest.raises(LookupError, match="no database login was provisioned for "
                                              "extension 'gamma'"):
            provider.for_extension("gamma")
    finally:
        provider.close()
    broken = {**args, "core": {"user": "core_x"}}
    with pytest.raises(DatabaseArgsError, match=r"database\.core\.password"):
        provider_from_args(broken)


def test_certify_gives_the_worker_no_admin_credentials(
    monkeypatch: pytest.MonkeyPatch, spy_provision: list[PgServer], tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []
    real_call = WorkerClient.call

    def spy(self: WorkerClient, op: str, /, timeout: float | None = None,
            **args: Any) -> dict[str, Any]:
        if op == "host.start" and args["database"]["backend"] == "postgresql":
            database = args["database"]
            with _admin(spy_provision[0]) as admin:
                flags = [admin.execute(ROLE_FLAGS, (g["user"],)).fetchone()
                         for g in [database["core"], *database["extensions"].values()]]
            seen.append({"database": database, "flags": flags})
        return real_call(self, op, timeout=timeout, **args)

    monkeypatch.setattr(WorkerClient, "call", spy)
    outcome = certify(CertifyOptions(
        path=ANALYTICS, out=tmp_path / "out", profile="quick", seed=1,
        only=["IS-01@postgresql", "DB-01@postgresql", "DB-02@postgresql"]))
    [server] = spy_provision
    assert len(seen) >= 3  # one host per check at least, one server for all of them
    for start in seen:
        text = json.dumps(start["database"])
        assert server.password not in text and f'"{server.user}"' not in text
        assert all(f is not None and not any(f[:5]) for f in start["flags"])
    statuses = {(r["check"], r["backend"]): r["status"] for r in outcome.report["results"]}
    assert statuses[("IS-01", "postgresql")] == "pass"
    assert outcome.report["environment"]["postgresql"]["provider"] == "local"
    assert not Path(server.host).exists()


def test_a_dsn_server_is_left_without_our_databases_and_roles(tmp_path: Path) -> None:
    server = provision(require=True)
    assert server is not None
    try:
        outcome = certify(CertifyOptions(
            path=ANALYTICS, out=tmp_path / "out", profile="quick", seed=1,
            only=["DB-03@postgresql", "IS-01@postgresql"], pg_dsn=server.admin_dsn))
        assert outcome.report["environment"]["postgresql"]["provider"] == "dsn"
        statuses = {f"{r['check']}@{r['backend']}": r["status"]
                    for r in outcome.report["results"]}
        assert statuses["DB-03@postgresql"] == statuses["IS-01@postgresql"] == "pass"
        with _admin(server) as admin:
            databases = admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'dufflebag%'").fetchall()
            roles = admin.execute("SELECT rolname FROM pg_roles "
                                  "WHERE rolname LIKE 'core%' OR rolname LIKE 'ext%'").fetchall()
        assert databases == [] and roles == []
    finally:
        server.close()


def test_required_postgres_with_no_provider_is_bad_input_naming_each(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("dufflebag_harness.outside.postgres._binaries.SEARCH_GLOBS", ())
    monkeypatch.setenv("DUFFLEBAG_REQUIRE_POSTGRES", "1")
    with pytest.raises(BadInput) as info:
        certify(CertifyOptions(path=ANALYTICS, out=tmp_path / "out", profile="quick",
                               only=["DB-01"]))
    message = str(info.value)
    for provider in ("dsn:", "testcontainers:", "ephemeral:", "DUFFLEBAG_REQUIRE_POSTGRES"):
        assert provider in message
    assert not (tmp_path / "out").exists()


def _cli_without_postgres(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The CLI in a process that finds no server binaries anywhere."""
    code = ("import sys, dufflebag_harness.outside.postgres._binaries as b; b.SEARCH_GLOBS = (); "
            "from dufflebag_harness.outside.cli import main; main(sys.argv[1:])")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False,
                          env={**os.environ, "PATH": "/usr/bin:/bin", **env})


def test_cli_exits_2_when_postgres_is_required_but_missing(tmp_path: Path) -> None:
    required = _cli_without_postgres("certify", str(ANALYTICS), "--out", str(tmp_path / "a"),
                                     "--only", "DB-01", env={"DUFFLEBAG_REQUIRE_POSTGRES": "1"})
    assert required.returncode == 2, required.stderr
    assert "ephemeral: initdb and postgres not found" in required.stderr
    assert "Traceback" not in required.stderr
    skipped = _cli_without_postgres("certify", str(ANALYTICS), "--out", str(tmp_path / "b"),
                                    "--only", "DB-01", env={"DUFFLEBAG_REQUIRE_POSTGRES": "0"})
    assert skipped.returncode == 3, skipped.stderr  # provisional: the PostgreSQL pair skipped
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    [pg] = [r for r in report["results"] if r["check"] == "DB-01" and r["backend"] == "postgresql"]
    assert pg["status"] == "skipped" and "initdb and postgres not found" in pg["reason"]


def test_cli_exits_2_on_a_broken_pg_dsn_naming_the_provider(tmp_path: Path) -> None:
    result = run_cli("certify", str(ANALYTICS), "--out", str(tmp_path / "out"), "--only",
                     "DB-01", "--pg-dsn", "postgresql://someone:s3cret-pw@127.0.0.1:1/db")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "dsn: (argument) cannot connect to host 127.0.0.1 port 1" in result.stderr
    assert "s3cret-pw" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def _cluster_of(pid: int) -> Path | None:
    for owner in Path("/tmp").glob("dbpg*/owner.json"):
        try:
            if json.loads(owner.read_text())["pid"] == pid:
                return owner.parent
        except (OSError, ValueError, KeyError):
            continue
    return None


def _postgres_below(pid: int) -> bool:
    for child in psutil.Process(pid).children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if child.name() == "postgres":
                return True
    return False


def _wait_for(what: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.1)
    return what()


def test_a_run_killed_with_sigkill_leaves_nothing_running_and_the_next_run_is_clean(
    tmp_path: Path, request: pytest.FixtureRequest,
) -> None:
    # what kill -9 leaves of the run's folders stays in here, not in the machine's /tmp
    scratch = Path(tempfile.mkdtemp(prefix="dbk9", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(scratch, ignore_errors=True))
    proc = subprocess.Popen(
        [sys.executable, "-m", "dufflebag_harness", "certify", str(ANALYTICS), "--out",
         str(tmp_path / "killed"), "--only", "DB-06,IS-01,DB-02", "--profile", "quick"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(scratch)})
    left: list[psutil.Process] = []
    try:
        cluster = _wait_for(lambda: _cluster_of(proc.pid), 120)
        assert cluster is not None, "the run never started its cluster"
        # the server runs once initdb is done, which takes a while on a busy machine
        assert _wait_for(lambda: _postgres_below(proc.pid), 120), "no server was started"
        time.sleep(1.0)  # mid-way: checks are running
        left = psutil.Process(proc.pid).children(recursive=True)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    _, alive = psutil.wait_procs(left, timeout=15)
    assert alive == [], f"still running after the harness died: {alive}"
    again = run_cli("certify", str(ANALYTICS), "--out", str(tmp_path / "again"),
                    "--only", "DB-01@postgresql", "--profile", "quick")
    assert again.returncode == 3, again.stdout + again.stderr  # --only: provisional at best
    report = json.loads((tmp_path / "again" / "report.json").read_text())
    statuses = {f"{r['check']}@{r['backend']}": r["status"] for r in report["results"]}
    assert statuses["DB-01@postgresql"] == "pass"
    assert not cluster.exists(), "the dead run's cluster was not swept"


def test_public_names_of_the_postgresql_modules_are_pinned() -> None:
    import dufflebag_harness.inside.db.pg_grants
    import dufflebag_harness.outside.postgres.databases
    import dufflebag_harness.outside.postgres.inspector

    assert sorted(dufflebag_harness.inside.db.pg_grants.__all__) == [
        "GrantsError", "PgGrantedProvider", "PgGrants", "RoleGrant", "describe_grants"]
    assert sorted(dufflebag_harness.outside.postgres.databases.__all__) == [
        "CORE_CONNECTIONS", "DATABASE_PREFIX", "MAX_POOL", "PgAdmin", "PgProvisioner"]
    assert dufflebag_harness.outside.postgres.inspector.__all__ == ["PgInspector"]
    for module in (dufflebag_harness.inside.db.pg_grants,
                   dufflebag_harness.outside.postgres.inspector,
                   dufflebag_harness.outside.postgres.databases):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_databases_left_on_a_shared_server_by_a_killed_run_are_swept() -> None:
    server = provision(require=True)
    assert server is not None
    admin = PgAdmin.of(server)
    mine = PgProvisioner(admin)
    code = ("import os, sys, time\n"
            "from dufflebag_harness.outside.postgres.databases import PgAdmin, PgProvisioner\n"
            "admin = PgAdmin(sys.argv[1], int(sys.argv[2]), sys.argv[3], os.environ['PW'])\n"
            "grants = PgProvisioner(admin).create({'alpha': 1})\n"
            "print(grants.dbname, grants.extensions['alpha'].user, flush=True)\n"
            "time.sleep(120)\n")
    child = subprocess.Popen([sys.executable, "-c", code, server.host, str(server.port),
                              server.user], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PW": server.password})
    try:
        assert child.stdout is not None
        dbname, role = child.stdout.readline().split()
        kept = mine.create({"alpha": 1})  # a live process's database is never swept
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        removed = mine.sweep_stale()
        assert dbname in removed and kept.dbname not in removed
        with _admin(server) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
            roles = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles")}
        assert dbname not in names and role not in roles
        assert kept.dbname in names
    finally:
        if child.poll() is None:
            child.kill()
        mine.close()
        server.close()


def test_a_server_reached_over_tcp_serves_sandboxed_workers_through_the_relay(
        tmp_path: Path) -> None:
    """A DSN with a TCP address (a CI service container): the sandboxed worker has no
    network, so the run hands it a unix-socket relay; the database checks still pass."""
    import contextlib
    import socket
    import threading
    from urllib.parse import quote

    server = provision(require=True)
    assert server is not None and server.host.startswith("/")
    unix_path = os.path.join(server.host, f".s.PGSQL.{server.port}")
    front = socket.create_server(("127.0.0.1", 0))  # TCP in front of the unix-only cluster

    def pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while True:
            try:
                conn, _ = front.accept()
            except OSError:
                return
            back = socket.socket(socket.AF_UNIX)
            back.connect(unix_path)
            threading.Thread(target=pipe, args=(conn, back), daemon=True).start()
            threading.Thread(target=pipe, args=(back, conn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    port = front.getsockname()[1]
    relays_before = set(Path("/tmp").glob("dbpr-*"))
    dsn = (f"postgresql://{quote(server.user, safe='')}:{quote(server.password, safe='')}"
           f"@127.0.0.1:{port}/{quote(server.dbname, safe='')}")
    try:
        outcome = certify(CertifyOptions(
            path=ANALYTICS, out=tmp_path / "out", profile="quick", seed=1,
            only=["DB-01@postgresql", "IS-01@postgresql"], pg_dsn=dsn))
        statuses = {f"{r['check']}@{r['backend']}": r["status"]
                    for r in outcome.report["results"]}
        assert statuses["DB-01@postgresql"] == statuses["IS-01@postgresql"] == "pass", \
            outcome.report["results"]
        assert outcome.report["environment"]["worker"]["sandbox"] is not None
        assert set(Path("/tmp").glob("dbpr-*")) <= relays_before  # the relay is gone
    finally:
        front.close()
        server.close()
