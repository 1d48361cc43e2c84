"""A server named by a DSN: used when it works, a clear error when it does not."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from dufflebag_harness.outside.postgres import PgServer, PostgresUnavailable, provision

pytestmark = pytest.mark.postgres


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def role(cluster: PgServer) -> Iterator[str]:
    """A login role with no privileges; the test grants what it needs."""
    name = "dsn_probe"
    with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'probe-pw'")
    yield name
    with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
        conn.execute(f"DROP ROLE {name}")


def test_unreachable_server_names_provider_and_host_not_password() -> None:
    port = _closed_port()
    started = time.monotonic()
    with pytest.raises(PostgresUnavailable) as info:
        provision(f"postgresql://admin:s3cret-pw@127.0.0.1:{port}/postgres")
    message = str(info.value)
    assert time.monotonic() - started < 6
    assert message.startswith("PostgreSQL unavailable: dsn")
    assert f"127.0.0.1 port {port}" in message
    assert "s3cret-pw" not in message


def test_given_dsn_that_fails_is_never_replaced_by_another_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DUFFLEBAG_PG_DSN", f"host=127.0.0.1 port={_closed_port()} user=u")
    with pytest.raises(PostgresUnavailable, match=r"dsn: \(DUFFLEBAG_PG_DSN\) cannot connect"):
        provision()  # require=False: still an error, not a silent fallback


def test_bad_password_is_reported_without_echoing_it(cluster: PgServer) -> None:
    dsn = (
        f"host={cluster.host} port={cluster.port} user={cluster.user} "
        "password=wrong-pw-123 dbname=postgres"
    )
    with pytest.raises(PostgresUnavailable) as info:
        provision(dsn)
    assert "password authentication failed" in str(info.value)
    assert "wrong-pw-123" not in str(info.value)


def test_malformed_dsn_is_refused_without_echoing_it() -> None:
    with pytest.raises(PostgresUnavailable, match="not a valid libpq connection string") as info:
        provision("host=db password=hunter2-secret this-is-not-a-pair")
    assert "hunter2-secret" not in str(info.value)


def test_role_without_privileges_is_refused_naming_what_is_missing(
    cluster: PgServer, role: str
) -> None:
    dsn = f"host={cluster.host} port={cluster.port} user={role} password=probe-pw dbname=postgres"
    with pytest.raises(PostgresUnavailable) as info:
        provision(dsn)
    assert "CREATEROLE and CREATEDB" in str(info.value)

    with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} CREATEROLE")
    with pytest.raises(PostgresUnavailable) as info:
        provision(dsn)
    assert "lacks CREATEDB" in str(info.value)

    with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {role} CREATEDB")
    server = provision(dsn)
    assert server is not None and server.user == role


def test_working_dsn_from_the_environment_is_used_and_never_stopped(
    cluster: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUFFLEBAG_PG_DSN", cluster.admin_dsn)
    server = provision()
    assert server is not None
    assert (server.provider, server.version, server.user) == ("dsn", cluster.version, "postgres")
    with psycopg.connect(server.admin_dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    server.close()
    with psycopg.connect(cluster.admin_dsn) as conn:  # someone else's server: still up
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_admin_dsn_survives_awkward_passwords(cluster: PgServer) -> None:
    password = "p@ss/w:rd%?&#' x"
    with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE dsn_awkward LOGIN SUPERUSER PASSWORD {}").format(
                sql.Literal(password)
            )
        )
    try:
        server = provision(
            make_conninfo(
                host=cluster.host,
                port=cluster.port,
                user="dsn_awkward",
                password=password,
                dbname="postgres",
            )
        )
        assert server is not None and server.password == password
        with psycopg.connect(server.admin_dsn) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("dsn_awkward",)
    finally:
        with psycopg.connect(cluster.admin_dsn, autocommit=True) as conn:
            conn.execute("DROP ROLE dsn_awkward")
