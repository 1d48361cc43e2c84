"""Provider 2: a throwaway server in a container, when a Docker engine answers.

The engine is pinged first with a short timeout: with no engine the docker
SDK fails in milliseconds, so this provider costs nothing where it cannot work.
testcontainers is imported only after the ping succeeded (it is slow to import
and its top-level ``postgres`` module warns that it is deprecated).
"""

from __future__ import annotations

import contextlib
import secrets
import warnings
from typing import Any

import psycopg

from dufflebag_harness.outside.postgres._errors import ProviderError
from dufflebag_harness.outside.postgres._server import PgServer, format_version

__all__ = ["IMAGE", "docker_unavailable_reason", "start_container"]

IMAGE = "postgres:15-alpine"
_SERVER_COMMAND = (
    "postgres -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
)


def docker_unavailable_reason(timeout_s: float = 2.0) -> str | None:
    """None when a Docker engine answers a ping, else why it did not."""
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed"
    try:
        client = docker.from_env(timeout=timeout_s)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # the SDK raises DockerException, requests and OS errors
        return f"no Docker engine answered a ping ({type(exc).__name__}: {exc})"
    return None


def _container_class() -> Any:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from testcontainers.postgres import PostgresContainer
    return PostgresContainer


def start_container() -> PgServer:
    """Start a PostgreSQL container, or raise :class:`ProviderError`."""
    reason = docker_unavailable_reason()
    if reason is not None:
        raise ProviderError(reason)
    try:
        container_class = _container_class()
    except ImportError as exc:
        raise ProviderError(f"testcontainers is not installed ({exc})") from None
    password = secrets.token_urlsafe(24)
    container = container_class(
        IMAGE, username="postgres", password=password, dbname="postgres", driver=None
    )
    container.with_command(_SERVER_COMMAND)
    try:
        container.start()
        host = str(container.get_container_host_ip())
        port = int(container.get_exposed_port(5432))
        with psycopg.connect(
            host=host,
            port=port,
            user="postgres",
            password=password,
            dbname="postgres",
            connect_timeout=5,
        ) as conn:
            version = format_version(conn.info.server_version)
    except BaseException as exc:
        with contextlib.suppress(Exception):  # the start failure is the news, not the cleanup's
            container.stop()
        if isinstance(exc, Exception):
            raise ProviderError(f"container {IMAGE} did not start: {exc}") from None
        raise
    return PgServer(
        host=host,
        port=port,
        user="postgres",
        password=password,
        dbname="postgres",
        version=version,
        provider="testcontainers",
        stop=container.stop,
    )
