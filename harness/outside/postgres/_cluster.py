"""Provider 3: an ephemeral local cluster, private to this harness process.

Tuned for tests, not durability: fsync, full-page writes and synchronous
commit are off, and ``initdb --no-sync``. It listens on a unix socket only (no
TCP port to collide with, nothing reachable from the network) and requires a
scram password for a random superuser password, because with ``trust``
anything that reaches the socket would be superuser. The socket directory is
searchable (0711) so a worker dropped to another uid can still connect.

``postgres`` runs as a foreground child in its own process group (not via
``pg_ctl start``, which detaches it), so it dies with the harness; see
:mod:`dufflebag_harness.outside.postgres._spawn`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

import psutil
import psycopg

from dufflebag_harness.outside.postgres._binaries import find_bindir, searched_places
from dufflebag_harness.outside.postgres._errors import ProviderError
from dufflebag_harness.outside.postgres._server import PgServer, format_version
from dufflebag_harness.outside.postgres._spawn import RunAs, run_as_for_current_user, spawn_server
from dufflebag_harness.outside.postgres._sweep import (
    CLUSTER_PREFIX,
    CLUSTER_ROOT,
    sweep_stale_clusters,
    write_owner,
)

__all__ = ["MAX_CONNECTIONS", "start_cluster"]

#: 10 companion extensions x pool of 5 x 2 hosts in parallel, plus admin margin.
MAX_CONNECTIONS = 200
PORT = 5432  # only names the socket file; every cluster has its own directory
SUPERUSER = "postgres"
INITDB_TIMEOUT_S = 120.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
_SOCKET_PATH_MAX = 107
_TAIL_CHARS = 1500


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= _TAIL_CHARS else "..." + text[-_TAIL_CHARS:]


def _child_env(bindir: Path) -> dict[str, str]:
    """A minimal environment: no PG* variables of the caller leak into the server."""
    return {"PATH": f"{bindir}{os.pathsep}/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}


class _Cluster:
    """What must be undone: the directory, the server process and its log handle.

    Holds no reference to the :class:`PgServer`, so it can be its finalizer.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.procs: list[subprocess.Popen[bytes]] = []
        self.log: IO[bytes] | None = None

    def stop(self) -> None:
        for proc in self.procs:
            _stop_server(proc)
        if self.log is not None:
            self.log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT); if that hangs, SIGKILL the postmaster and its children.

    Backends call setsid(), so they are not in the postmaster's process group:
    they are found as its children instead.
    """
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT_S)
    if proc.poll() is None:
        try:
            leader = psutil.Process(proc.pid)
            victims = [leader, *leader.children(recursive=True)]
        except psutil.Error:
            victims = []
        for victim in victims:
            with contextlib.suppress(psutil.Error):
                victim.kill()
        psutil.wait_procs(victims, timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=STOP_TIMEOUT_S)


def _prepare_directory(directory: Path, run_as: RunAs) -> None:
    write_owner(directory)
    os.chmod(directory, 0o711)
    if run_as.uid is not None:
        os.chown(directory, run_as.uid, run_as.gid if run_as.gid is not None else -1)
    socket = directory / f".s.PGSQL.{PORT}"
    if len(str(socket).encode()) >= _SOCKET_PATH_MAX:
        raise ProviderError(f"socket path {socket} is too long for a unix socket")


def _initdb(bindir: Path, directory: Path, password: str, run_as: RunAs) -> None:
    pwfile = directory / "pw"
    pwfile.touch(mode=0o600)
    if run_as.uid is not None:
        os.chown(pwfile, run_as.uid, -1)
    pwfile.write_text(password + "\n", encoding="utf-8")
    argv = [
        str(bindir / "initdb"),
        "-D",
        str(directory / "data"),
        "-U",
        SUPERUSER,
        f"--pwfile={pwfile}",
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
    ]
    try:
        done = subprocess.run(
            argv,
            cwd=directory,
            env=_child_env(bindir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=INITDB_TIMEOUT_S,
            check=False,
            **run_as.popen_kwargs(),
        )
    except subprocess.TimeoutExpired:
        raise ProviderError(f"initdb did not finish within {INITDB_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise ProviderError(f"cannot run {argv[0]}: {exc}") from None
    finally:
        pwfile.unlink(missing_ok=True)
    if done.returncode != 0:
        output = (done.stderr or done.stdout).decode("utf-8", "replace")
        raise ProviderError(f"initdb failed (exit {done.returncode}): {_tail(output)}")


def _server_argv(bindir: Path, directory: Path) -> list[str]:
    settings = {
        "listen_addresses": "",
        "unix_socket_directories": str(directory),
        "port": str(PORT),
        "fsync": "off",
        "full_page_writes": "off",
        "synchronous_commit": "off",
        "max_connections": str(MAX_CONNECTIONS),
    }
    argv = [str(bindir / "postgres"), "-D", str(directory / "data")]
    for key, value in settings.items():
        argv += ["-c", f"{key}={value}"]
    return argv


def _wait_ready(cluster: _Cluster, password: str, timeout_s: float) -> int:
    """Poll until a password login works; return the server's version number."""
    proc = cluster.procs[0]
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            log = (cluster.directory / "log").read_text("utf-8", "replace")
            raise ProviderError(f"postgres exited with {proc.returncode}: {_tail(log)}")
        try:
            with psycopg.connect(
                host=str(cluster.directory),
                port=PORT,
                user=SUPERUSER,
                password=password,
                dbname="postgres",
                connect_timeout=2,
            ) as conn:
                return conn.info.server_version
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise ProviderError(
                    f"postgres not ready after {timeout_s:.0f} s: {' '.join(str(exc).split())}"
                ) from None
        time.sleep(0.02)


def start_cluster(*, start_timeout_s: float = START_TIMEOUT_S) -> PgServer:
    """Create and start a private cluster, or raise :class:`ProviderError`.

    Stale clusters of dead harnesses are swept first. On any failure, timeout
    or interrupt, whatever was started is stopped and the directory removed.
    """
    sweep_stale_clusters()
    bindir = find_bindir()
    if bindir is None:
        raise ProviderError(f"initdb and postgres not found on {searched_places()}")
    try:
        run_as = run_as_for_current_user()
    except LookupError as exc:
        raise ProviderError(str(exc)) from None
    try:
        directory = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX, dir=CLUSTER_ROOT))
    except OSError as exc:
        raise ProviderError(f"cannot create a cluster directory in {CLUSTER_ROOT}: {exc}") from None
    cluster = _Cluster(directory)
    try:
        _prepare_directory(directory, run_as)
        password = secrets.token_urlsafe(24)
        _initdb(bindir, directory, password, run_as)
        cluster.log = open(directory / "log", "ab")  # noqa: SIM115 - closed by cluster.stop
        spawn_server(
            _server_argv(bindir, directory),
            run_as=run_as,
            cwd=str(directory),
            env=_child_env(bindir),
            output=cluster.log,
            started=cluster.procs,
        )
        version_num = _wait_ready(cluster, password, start_timeout_s)
    except ProviderError:
        cluster.stop()
        raise
    except Exception as exc:
        cluster.stop()
        raise ProviderError(f"cluster in {directory} failed: {exc}") from exc
    except BaseException:  # Ctrl-C, SystemExit: clean up, then let it through
        cluster.stop()
        raise
    return PgServer(
        host=str(directory),
        port=PORT,
        user=SUPERUSER,
        password=password,
        dbname="postgres",
        version=format_version(version_num),
        provider="ephemeral",
        stop=cluster.stop,
    )
