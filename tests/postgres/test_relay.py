"""The unix-socket relay that lets a sandboxed worker reach a PostgreSQL server over TCP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from dufflebag_harness.outside.postgres.relay import UnixRelay
from dufflebag_harness.outside.sandbox import SandboxSpec, start


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 that answers every chunk with ``echo:`` + the chunk."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(b"echo:" + data)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()
    finally:
        stop.set()
        server.close()


def test_bytes_cross_the_relay_both_ways(echo_server: tuple[str, int]) -> None:
    relay = UnixRelay(*echo_server)
    try:
        assert os.path.basename(relay.path) == f".s.PGSQL.{echo_server[1]}"
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(relay.path)
            client.sendall(b"hello")
            assert client.recv(100) == b"echo:hello"
    finally:
        relay.close()
    assert not os.path.exists(relay.dir)


def test_a_sandboxed_process_reaches_a_tcp_server_only_through_the_relay(
        echo_server: tuple[str, int]) -> None:
    """No network inside the sandbox: the TCP address fails, the relay's socket works."""
    relay = UnixRelay(*echo_server)
    code = (
        "import socket, sys\n"
        "host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
        "try:\n"
        "    socket.create_connection((host, port), timeout=2)\n"
        "    print('tcp reached')\n"
        "except OSError:\n"
        "    print('tcp refused')\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(path); s.sendall(b'ping')\n"
        "print(s.recv(100).decode())\n"
    )
    try:
        proc = start(SandboxSpec(env={"PATH": "/usr/bin:/bin"}, ro_binds=(relay.dir,)),
                     [sys.executable, "-I", "-c", code, echo_server[0], str(echo_server[1]),
                      relay.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=60)
    finally:
        relay.close()
    assert proc.returncode == 0, err.decode()
    assert out.decode().splitlines() == ["tcp refused", "echo:ping"]
