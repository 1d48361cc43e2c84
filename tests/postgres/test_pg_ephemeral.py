"""The ephemeral local cluster: reachable with its password only, and gone after close()."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import psycopg
import pytest
import sqlalchemy as sa

from dufflebag_harness.outside.postgres import PgServer, provision

from ._helpers import pids_in, still_running

pytestmark = pytest.mark.postgres


def _connect(server: PgServer, password: str | None) -> psycopg.Connection[tuple[object, ...]]:
    kwargs: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "dbname": server.dbname,
    }
    if password is not None:
        kwargs["password"] = password
    return psycopg.connect(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
def no_ambient_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """libpq must not find a password anywhere but in the call."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent/pgpass")


def test_select_version_over_the_unix_socket(cluster: PgServer) -> None:
    assert cluster.provider == "ephemeral"
    assert Path(cluster.host).is_dir()
    assert len(f"{cluster.host}/.s.PGSQL.{cluster.port}".encode()) < 107
    with _connect(cluster, cluster.password) as conn:
        row = conn.execute("SELECT version(), current_setting('server_version')").fetchone()
    assert row is not None
    assert str(row[0]).startswith(f"PostgreSQL {cluster.version}")
    assert str(row[1]).split()[0] == cluster.version


@pytest.mark.usefixtures("no_ambient_password")
def test_wrong_password_is_refused(cluster: PgServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _connect(cluster, cluster.password + "x")


@pytest.mark.usefixtures("no_ambient_password")
def test_no_password_is_refused(cluster: PgServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        _connect(cluster, None)


def test_listens_on_no_tcp_port_and_is_tuned_for_tests(cluster: PgServer) -> None:
    with psycopg.connect(cluster.admin_dsn) as conn:
        settings: dict[str, str] = dict(
            conn.execute(
                "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)",
                (["listen_addresses", "fsync", "max_connections"],),
            ).fetchall()
        )
    assert settings["listen_addresses"] == ""
    assert settings["fsync"] == "off"
    # 10 companions x pool 5 x 2 parallel hosts must fit.
    assert int(settings["max_connections"]) >= 100


def test_admin_dsn_works_for_psycopg_and_sqlalchemy(cluster: PgServer) -> None:
    with psycopg.connect(cluster.admin_dsn) as conn:
        row = conn.execute(
            "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row == (cluster.user, True)
    url = cluster.admin_dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_repr_hides_the_password(cluster: PgServer) -> None:
    assert cluster.password
    assert cluster.password not in repr(cluster)
    assert cluster.password not in str(cluster)


@pytest.mark.usefixtures("server_binaries")
def test_leaving_the_with_block_leaves_no_process_and_no_directory() -> None:
    server = provision()
    assert server is not None
    with server:
        assert server.provider == "ephemeral"
        directory = Path(server.host)
        postmaster = int((directory / "data" / "postmaster.pid").read_text().splitlines()[0])
        procs = [psutil.Process(postmaster), *psutil.Process(postmaster).children()]
        assert len(procs) > 1  # the postmaster and its background workers

    assert still_running(procs, timeout=5) == []
    assert not directory.exists()
    assert pids_in(directory) == []
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.admin_dsn, connect_timeout=2)
    server.close()  # idempotent
    assert server.closed


def test_cluster_started_from_a_short_lived_thread_survives_it(
    new_cluster: Callable[[], PgServer],
) -> None:
    """The parent-death signal follows the forking *thread*: it must not be a transient one."""
    servers: list[PgServer] = []
    thread = threading.Thread(target=lambda: servers.append(new_cluster()))
    thread.start()
    thread.join()
    time.sleep(0.3)
    (server,) = servers
    with psycopg.connect(server.admin_dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_sandboxed_worker_connects_through_the_socket_folder(cluster: PgServer) -> None:
    """The worker runs in a sandbox with no network: the cluster's unix-socket folder,
    shown read-only, must be enough to connect (as the run's workers do)."""
    from dufflebag_harness.outside.sandbox import SandboxSpec, start

    code = "import os, psycopg; psycopg.connect(os.environ['DSN']).close(); print('ok')"
    spec = SandboxSpec(env={"DSN": cluster.admin_dsn, "PATH": "/usr/bin:/bin"},
                       ro_binds=(cluster.host,))
    proc = start(spec, [sys.executable, "-I", "-c", code],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "ok"
