"""A unix-socket door to a PostgreSQL server reached over TCP, for sandboxed workers.

Workers run in a sandbox without network: a server given by a TCP DSN (a CI service
container, testcontainers) is out of their reach, while a unix socket in a folder
shown to the sandbox is not. The relay listens on ``DIR/.s.PGSQL.PORT`` — the name
libpq uses for ``host=DIR port=PORT`` — and copies bytes to and from the TCP server.
It reaches only that one address, so it opens nothing else to the sandbox; PostgreSQL
still checks every login itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading

__all__ = ["UnixRelay"]

_CHUNK = 65536


class UnixRelay:
    """Listens on a unix socket in a private folder; each connection gets its own TCP one."""

    def __init__(self, host: str, port: int, *, connect_timeout_s: float = 10.0) -> None:
        self.target = (host, port)
        self.port = port
        self._timeout = connect_timeout_s
        self.dir = tempfile.mkdtemp(prefix="dbpr-")  # 0700: the caller's uid only
        self.path = os.path.join(self.dir, f".s.PGSQL.{port}")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._server.bind(self.path)
            self._server.listen(64)
        except OSError:
            self._server.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self._closed = threading.Event()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="pg-relay", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                inner, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(inner,), daemon=True).start()

    def _serve(self, inner: socket.socket) -> None:
        try:
            outer = socket.create_connection(self.target, timeout=self._timeout)
        except OSError:
            inner.close()  # the client sees the connection close: PostgreSQL unreachable
            return
        outer.settimeout(None)
        with self._lock:
            self._open.update((inner, outer))
        pump = threading.Thread(target=_pipe, args=(outer, inner), daemon=True)
        pump.start()
        _pipe(inner, outer)
        pump.join()
        with self._lock:
            self._open.difference_update((inner, outer))
        inner.close()
        outer.close()

    def close(self) -> None:
        """Stop accepting, cut every relayed connection and remove the folder."""
        self._closed.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        shutil.rmtree(self.dir, ignore_errors=True)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst`` until either side ends, then end ``dst``'s writing."""
    try:
        while data := src.recv(_CHUNK):
            dst.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)
