"""Provider 1: a server the user already runs, named by a libpq DSN.

The role must be able to create the per-extension roles and databases
(CREATEROLE and CREATEDB, or superuser); finding that out here gives one clear
message instead of a "permission denied" deep inside a check.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from dufflebag_harness.outside.postgres._errors import PostgresUnavailable, ProviderFailure
from dufflebag_harness.outside.postgres._server import PgServer, format_version

__all__ = ["CONNECT_TIMEOUT_S", "connect_dsn"]

CONNECT_TIMEOUT_S = 5

_PRIVILEGES_SQL = (
    "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
)


def _fail(source: str, reason: str) -> PostgresUnavailable:
    return PostgresUnavailable([ProviderFailure("dsn", f"({source}) {reason}")])


def _scrub(text: str, password: str | None) -> str:
    """One line, with the password removed should the server ever echo it."""
    flat = " ".join(text.split())
    return flat.replace(password, "***") if password else flat


def _where(params: dict[str, object]) -> str:
    host = params.get("host") or params.get("hostaddr") or "libpq default host"
    port = params.get("port") or 5432
    user = params.get("user") or "libpq default user"
    return f"host {host} port {port} as user {user!r}"


def connect_dsn(dsn: str, *, source: str) -> PgServer:
    """Check the server behind ``dsn`` and describe it; raise if it is not usable.

    ``source`` says where the DSN came from (``"argument"`` or the variable
    name) so the message points at what to fix. Nothing is started, so the
    returned server's ``close()`` does nothing.
    """
    try:
        params: dict[str, object] = dict(conninfo_to_dict(dsn))
    except psycopg.ProgrammingError:
        # libpq's parse message may quote the string, password included: say less.
        raise _fail(
            source, "not a valid libpq connection string (key=value pairs or a postgresql:// URI)"
        ) from None
    password = params.get("password")
    secret = password if isinstance(password, str) else None
    where = _where(params)
    # The caller's own connect_timeout wins; otherwise never hang on a dead host.
    timeout = params.get("connect_timeout") or CONNECT_TIMEOUT_S
    try:
        conn = psycopg.connect(dsn, autocommit=True, connect_timeout=str(timeout))
    except psycopg.Error as exc:
        raise _fail(source, f"cannot connect to {where}: {_scrub(str(exc), secret)}") from None
    with conn:
        row = conn.execute(_PRIVILEGES_SQL).fetchone()
        info = conn.info
        server = PgServer(
            host=info.host,
            port=info.port,
            user=info.user,
            password=info.password or (secret or ""),
            dbname=info.dbname,
            version=format_version(info.server_version),
            provider="dsn",
        )
    superuser, createrole, createdb = row if row is not None else (False, False, False)
    if not superuser:
        wanted = (("CREATEROLE", createrole), ("CREATEDB", createdb))
        missing = [name for name, ok in wanted if not ok]
        if missing:
            raise _fail(
                source,
                f"role {server.user!r} on {where} lacks {' and '.join(missing)} "
                "(needed to create per-extension roles and databases; or use a superuser)",
            )
    return server
