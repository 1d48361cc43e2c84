"""The parent's sinks for an extension's declared network targets.

The sandbox has no network: an extension that declares
``[capabilities].network = ["api.example.org:443"]`` would reach nothing, its network
code would only fail, and nobody would see what it tried to send. So every declared
concrete ``host:port`` gets a sink:

* :func:`plan_targets` gives each declared host name its own loopback address
  (127.0.0.2, 127.0.0.3, ...) for the sandbox's generated ``/etc/hosts``; patterns that
  name no single target (``*.example.org:443``, ``host:*``, IP literals, ``localhost``)
  are kept with the reason they are not reachable in the sandbox;
* the worker client has the listening sockets made *inside* the sandbox's network
  namespace (:func:`dufflebag_harness.outside.sandbox.listen_in_netns`) and hands them
  to :class:`Sinks`, which keeps them in the parent and serves every connection in a
  thread of its own: nothing leaves the machine, and the extension cannot rewrite the
  record;
* each connection is recorded (target, time, every byte received up to
  :data:`TARGET_BYTES` per target, TLS or plaintext, the SNI a ClientHello named). An
  HTTP request gets ``200`` with ``{}`` so the extension's code path goes on; TLS is
  terminated with a certificate for the declared name issued by :class:`RunCA`, a CA
  made for this worker alone and trusted only inside its sandbox (``SSL_CERT_FILE`` and
  certifi's bundle are replaced there, never in the parent), and the decrypted request
  is what is recorded. Anything that is not HTTP is recorded until it stops.

A worker without declared targets makes none of this: no CA, no helper, no thread.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import ipaddress
import os
import re
import select
import selectors
import shutil
import socket
import ssl
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from dufflebag_harness.outside.sandbox import listen_in_netns
from dufflebag_harness.outside.sandbox._spec import interpreter_dirs

__all__ = [
    "TARGET_BYTES",
    "NetworkPlan",
    "RunCA",
    "Sinks",
    "Target",
    "certifi_bundles",
    "client_hello_sni",
    "open_sinks",
    "plan_targets",
    "sandbox_view",
]

#: Bytes recorded per target, over all its connections; the rest is read and counted.
TARGET_BYTES = 1024 * 1024
#: Declared host names given an address, at most.
MAX_HOSTS = 200
#: Connections served at once; more are accepted, recorded as refused and closed.
MAX_OPEN = 32
#: Connection records kept per worker; later connections are only counted (a target's
#: first connection is always kept: its record maps the target's address to its name).
MAX_RECORDS = 2000
#: A connection that sends nothing for this long is closed; none lives longer than
#: :data:`CONNECTION_S` (plus one idle wait).
IDLE_S = 10.0
#: How long reading the log waits, at most, for what was already sent to be read.
SETTLE_S = 2.0
CONNECTION_S = 120.0
#: Longest request head (request line and headers) parsed.
HEAD_BYTES = 64 * 1024
_FIRST = 0x7F000002  # 127.0.0.2
_NAME = re.compile(r"^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+"
                   r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_PATTERN = re.compile(r"^(?P<host>.+):(?P<port>\*|\d{1,5})$")
_REQUEST_LINE = re.compile(rb"^([A-Z]{3,12}) (\S{1,8192}) HTTP/1\.([01])$")
_METHOD_START = re.compile(rb"^[A-Z]{1,12}( |$)")
_ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
           b"Server: dufflebag-sink\r\n")


@dataclass(frozen=True)
class Target:
    """One declared ``host:port`` and the loopback address its host has in the sandbox."""

    host: str
    port: int
    address: str

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class NetworkPlan:
    """What a worker's declared network patterns become: sinks, and what cannot be one."""

    targets: tuple[Target, ...] = ()
    #: ``(pattern, why it gets no sink)``: not reachable in the sandbox, or its own loopback
    unreachable: tuple[tuple[str, str], ...] = ()

    @property
    def hosts(self) -> dict[str, str]:
        """Host name -> loopback address, for the sandbox's ``/etc/hosts``."""
        return {t.host: t.address for t in self.targets}

    def note(self) -> str:
        """One sentence for the report: which targets answer, which get no sink and why."""
        parts = []
        if self.targets:
            parts.append("declared network targets answer with the parent's recording "
                         "sinks on the sandbox's loopback: "
                         + ", ".join(t.name for t in self.targets))
        if self.unreachable:
            parts.append("no sink for "
                         + ", ".join(f"{p} ({why})" for p, why in self.unreachable))
        return "; ".join(parts)


def _why_not(host: str, port: str) -> str | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if host == "localhost" or host.endswith(".localhost") or (address and address.is_loopback):
        return "the sandbox's own loopback: only its own processes answer there"
    if port == "*":
        return "any port: a pattern, not reachable in the sandbox"
    if "*" in host:
        return "a wildcard: a pattern, not reachable in the sandbox"
    if address is not None:
        return "an address, not a host name: not reachable in the sandbox"
    if not _NAME.match(host):
        return "not a host name: not reachable in the sandbox"
    if not 0 < int(port) < 65536:
        return "not a port"
    return None


def plan_targets(patterns: Iterable[str]) -> NetworkPlan:
    """Sinks for every concrete ``host:port`` in ``patterns`` (host names lower-cased, in
    the order first declared, one address per host), the rest with a reason."""
    targets: dict[tuple[str, int], Target] = {}
    addresses: dict[str, str] = {}
    unreachable: dict[str, str] = {}
    for pattern in patterns:
        match = _PATTERN.match(pattern)
        if not match:
            unreachable.setdefault(pattern, "not host:port")
            continue
        host, port = match["host"].lower(), match["port"]
        why = _why_not(host, port)
        if why is None and host not in addresses and len(addresses) >= MAX_HOSTS:
            why = f"more than {MAX_HOSTS} declared hosts: not reachable in the sandbox"
        if why is not None:
            unreachable.setdefault(pattern, why)
            continue
        address = addresses.setdefault(host, str(ipaddress.IPv4Address(_FIRST + len(addresses))))
        targets.setdefault((host, int(port)), Target(host, int(port), address))
    return NetworkPlan(tuple(targets.values()), tuple(unreachable.items()))


#: Where an installation keeps certifi's bundle, relative to one of its prefixes.
_CERTIFI = ("lib/python3*/site-packages/certifi/cacert.pem",
            "lib64/python3*/site-packages/certifi/cacert.pem",
            "lib/python3/dist-packages/certifi/cacert.pem",
            "local/lib/python3*/dist-packages/certifi/cacert.pem")


def certifi_bundles(python: str | None = None) -> list[str]:
    """certifi's ``cacert.pem`` files in the installation of ``python`` (default: this
    interpreter; the worker's interpreter when it runs another), found without running
    it. Only regular files reached without a symlink (a distribution's certifi that links
    to the system bundle cannot be replaced, and needs not be: ``SSL_CERT_FILE``)."""
    found: set[str] = set()
    for prefix in interpreter_dirs(python or sys.executable):
        for pattern in _CERTIFI:
            for path in glob.glob(os.path.join(prefix, pattern)):
                if os.path.realpath(path) == path and os.path.isfile(path):
                    found.add(path)
    return sorted(found)


def _system_cas() -> bytes:
    """The system's CA file as OpenSSL finds it by default (not an ``SSL_CERT_FILE`` of
    the parent's environment: the worker's environment is its own)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and os.path.isfile(candidate):
            return Path(candidate).read_bytes()
    return b""


class RunCA:
    """A certificate authority made for one worker (``trustme``), and its bundle.

    ``folder`` holds ``ca-bundle.pem``: the system's CAs plus this one, for the sandbox
    only (shown read-only there, named by ``SSL_CERT_FILE`` and laid over certifi's
    bundle). The parent's own trust store is never touched.
    """

    BUNDLE = "ca-bundle.pem"

    def __init__(self) -> None:
        import trustme  # here, not at import: a worker without targets never pays for it

        self._ca = trustme.CA(organization_name="dufflebag certification run",
                              organization_unit_name="network sinks")
        self._issue = self._ca.issue_cert
        self.cert_pem = self._ca.cert_pem.bytes()
        self.folder = Path(tempfile.mkdtemp(prefix="dbca-"))
        try:
            system = _system_cas()
            bundle = system + (b"" if system.endswith(b"\n") or not system else b"\n")
            path = self.folder / self.BUNDLE
            path.write_bytes(bundle + self.cert_pem)
            path.chmod(0o444)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        self._contexts: dict[str, ssl.SSLContext] = {}

    @property
    def bundle(self) -> str:
        return str(self.folder / self.BUNDLE)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A TLS server context with a certificate for ``host`` issued by this CA."""
        if host not in self._contexts:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._issue(host).configure_cert(ctx)
            ctx.set_alpn_protocols(["http/1.1"])
            self._contexts[host] = ctx
        return self._contexts[host]

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def client_hello_sni(record: bytes) -> str | None:
    """The server name a TLS ClientHello record asks for (``None``: none, or not parsable)."""
    try:
        if record[0] != 0x16 or record[5] != 0x01:
            return None
        at = 9 + 2 + 32  # record header, handshake header, client version, random
        at += 1 + record[at]  # session id
        at += 2 + int.from_bytes(record[at:at + 2], "big")  # cipher suites
        at += 1 + record[at]  # compression methods
        end = min(len(record), at + 2 + int.from_bytes(record[at:at + 2], "big"))
        at += 2
        while at + 4 <= end:
            kind = int.from_bytes(record[at:at + 2], "big")
            size = int.from_bytes(record[at + 2:at + 4], "big")
            body = record[at + 4:at + 4 + size]
            if kind == 0 and len(body) >= 5 and body[2] == 0:
                length = int.from_bytes(body[3:5], "big")
                return body[5:5 + length].decode("ascii", "replace") or None
            at += 4 + size
    except IndexError:
        return None
    return None


@dataclass
class _Record:
    target: Target
    at: float
    tls: bool = False
    sni: str | None = None
    received: bytearray = field(default_factory=bytearray)
    received_bytes: int = 0
    truncated: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    closed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target.name, "host": self.target.host,
                "port": self.target.port, "address": self.target.address, "at": self.at,
                "tls": self.tls, "sni": self.sni, "received": bytes(self.received),
                "received_bytes": self.received_bytes, "truncated": self.truncated,
                "requests": [dict(r) for r in self.requests], "error": self.error,
                "closed": self.closed}


class _Stopped(Exception):
    """The sinks are closing, the peer went away, or the connection is past its time."""


class _Reader:
    """Reads a connection, recording every byte (through ``keep``) as it arrives."""

    def __init__(self, stream: socket.socket, keep: Any, deadline: float) -> None:
        self.stream = stream
        self.keep = keep
        self.deadline = deadline
        self.buf = bytearray()

    def fill(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Stopped("connection open too long")
        data = self.stream.recv(65536)
        if not data:
            raise _Stopped("closed by the client")
        self.keep(data)
        self.buf += data

    def until(self, sep: bytes, limit: int) -> bytes:
        while (at := self.buf.find(sep)) < 0:
            if len(self.buf) > limit:
                raise _Stopped(f"no {sep!r} within {limit} bytes")
            self.fill()
        out = bytes(self.buf[:at])
        del self.buf[:at + len(sep)]
        return out

    def skip(self, count: int) -> None:
        while count > 0:
            if not self.buf:
                self.fill()
            taken = min(count, len(self.buf))
            del self.buf[:taken]
            count -= taken

    def drain(self) -> None:
        self.buf.clear()
        while True:
            self.fill()
            self.buf.clear()


def _headers(head: bytes) -> tuple[bytes, dict[bytes, bytes]]:
    first, _, rest = head.partition(b"\r\n")
    headers: dict[bytes, bytes] = {}
    for line in rest.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return first, headers


class Sinks:
    """Serve and record connections on listening sockets made in the sandbox.

    ``sockets`` are in ``plan.targets`` order; they are the parent's from now on and
    closed by :meth:`close`. ``ca`` terminates TLS (required when any target exists).
    """

    def __init__(self, plan: NetworkPlan, sockets: Sequence[socket.socket],
                 ca: RunCA | None) -> None:
        if len(sockets) != len(plan.targets):
            raise ValueError("one socket per target")
        self.plan = plan
        self._ca = ca
        self._lock = threading.Lock()
        self._records: list[_Record] = []
        self._budget: dict[str, int] = {t.name: TARGET_BYTES for t in plan.targets}
        self._open: set[socket.socket] = set()
        self._seen: set[str] = set()
        self._threads: set[threading.Thread] = set()
        self._stopping = threading.Event()
        self._accepting = threading.Lock()  # held from accept() until the record exists
        self.dropped = 0
        self._selector = selectors.DefaultSelector()
        self._listeners = list(sockets)
        self._wake_r, self._wake_w = socket.socketpair()
        for sock, target in zip(self._listeners, plan.targets, strict=True):
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ, target)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._acceptor = threading.Thread(target=self._accept_loop, name="dbw-sink-accept",
                                          daemon=True)
        self._acceptor.start()

    # -- what was sent ------------------------------------------------------
    def log(self, settle_s: float = SETTLE_S) -> list[dict[str, Any]]:
        """Every connection so far, oldest first, as plain dicts (copies).

        What was sent before the call is read first (waiting ``settle_s`` at most):
        connections still queued on a listener are accepted and nothing is left unread
        in an open connection's socket. A connection made just before the call would
        otherwise be missing, or its last bytes, and a verdict on what was sent could
        miss what was sent last."""
        deadline = time.monotonic() + settle_s
        last = -1
        while True:
            received = self._unread_or_received()
            if (received >= 0 and received == last) or time.monotonic() >= deadline:
                break
            last = received
            time.sleep(0.01)
        with self._lock:
            return [record.as_dict() for record in self._records]

    def _unread_or_received(self) -> int:
        """The bytes received so far, or -1 while something sent is still to be read."""
        if not self._accepting.acquire(blocking=False):
            return -1  # a connection is being taken from its listener
        try:
            if any(_readable(sock) for sock in self._listeners):
                return -1
        finally:
            self._accepting.release()
        with self._lock:
            if any(_unread(conn) for conn in self._open):
                return -1
            return sum(record.received_bytes for record in self._records)

    def threads(self) -> list[threading.Thread]:
        """The sinks' threads still alive (the acceptor and one per open connection)."""
        with self._lock:
            alive = [t for t in self._threads if t.is_alive()]
        return [self._acceptor, *alive] if self._acceptor.is_alive() else alive

    # -- serving ------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            for key, _events in self._selector.select(timeout=1.0):
                if key.data is None:
                    return
                listener = cast(socket.socket, key.fileobj)
                with self._accepting:
                    try:
                        conn, _peer = listener.accept()
                    except OSError:
                        continue
                    self._start(conn, key.data)

    def _start(self, conn: socket.socket, target: Target) -> None:
        record = _Record(target, time.time())
        with self._lock:
            if self._stopping.is_set():
                conn.close()
                return
            if len(self._records) < MAX_RECORDS or target.name not in self._seen:
                self._records.append(record)  # a target's first connection is always kept
            else:
                self.dropped += 1
            self._seen.add(target.name)
            if len(self._open) >= MAX_OPEN:
                record.error = f"refused: more than {MAX_OPEN} connections at once"
                record.closed = True
                conn.close()
                return
            self._open.add(conn)
            worker = threading.Thread(target=self._serve, args=(conn, record),
                                      name="dbw-sink-conn", daemon=True)
            self._threads = {t for t in self._threads if t.is_alive()} | {worker}
        worker.start()

    def _keep(self, record: _Record, data: bytes) -> None:
        with self._lock:
            record.received_bytes += len(data)
            room = self._budget[record.target.name]
            kept = data[:room]
            record.received += kept
            self._budget[record.target.name] = room - len(kept)
            if len(kept) < len(data):
                record.truncated = True

    def _serve(self, conn: socket.socket, record: _Record) -> None:
        stream = conn
        try:
            conn.settimeout(IDLE_S)
            deadline = time.monotonic() + CONNECTION_S
            first = conn.recv(5, socket.MSG_PEEK)
            if first[:1] == b"\x16" and self._ca is not None:
                record.tls = True
                record.sni = client_hello_sni(self._peek_record(conn, deadline))
                ctx = self._ca.server_context(record.target.host)
                try:
                    stream = ctx.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError) as exc:
                    raise _Stopped(f"TLS handshake failed: {exc}") from None
                with self._lock:
                    self._open.discard(conn)
                    self._open.add(stream)
            if first:
                self._http(_Reader(stream, lambda d: self._keep(record, d), deadline), record)
        except _Stopped as exc:
            if not self._stopping.is_set() and str(exc) != "closed by the client":
                record.error = str(exc)
        except TimeoutError:
            if not record.received_bytes:  # an idle kept-alive connection is no error
                record.error = f"nothing received within {IDLE_S:g} s"
        except (OSError, ssl.SSLError) as exc:
            if not self._stopping.is_set():
                record.error = f"{type(exc).__name__}: {exc}"
        finally:
            with contextlib.suppress(OSError):
                stream.close()
            with self._lock:
                self._open.discard(stream)
                self._open.discard(conn)
                record.closed = True

    @staticmethod
    def _peek_record(conn: socket.socket, deadline: float) -> bytes:
        """The first TLS record (the ClientHello), peeked: the handshake reads it again."""
        peeked = conn.recv(5, socket.MSG_PEEK)
        want = 5 + int.from_bytes(peeked[3:5], "big") if len(peeked) == 5 else 5
        stop = min(deadline, time.monotonic() + IDLE_S)
        while len(peeked) < want and time.monotonic() < stop:
            time.sleep(0.005)
            peeked = conn.recv(want, socket.MSG_PEEK)
            if not peeked:
                break
        return peeked

    def _http(self, reader: _Reader, record: _Record) -> None:
        while True:
            while b"\r\n" not in reader.buf:
                if reader.buf and not _METHOD_START.match(bytes(reader.buf[:13])):
                    reader.drain()  # not HTTP: record it all, answer nothing
                reader.fill()
            line = bytes(reader.buf[:reader.buf.find(b"\r\n")])
            request = _REQUEST_LINE.match(line)
            if request is None:
                reader.drain()
                return
            head = reader.until(b"\r\n\r\n", HEAD_BYTES)
            _first, headers = _headers(head)
            method, path, minor = request[1], request[2], request[3]
            if headers.get(b"expect", b"").lower() == b"100-continue":
                reader.stream.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
                self._chunked(reader)
            else:
                length = headers.get(b"content-length", b"0")
                reader.skip(int(length) if length.isdigit() else 0)
            connection = headers.get(b"connection", b"").lower()
            closing = b"close" in connection or (minor == b"0" and b"keep-alive" not in connection)
            answer = _ANSWER + (b"Connection: close\r\n" if closing else b"") + b"\r\n"
            reader.stream.sendall(answer + (b"" if method == b"HEAD" else b"{}"))
            with self._lock:
                if len(record.requests) < 1000:
                    record.requests.append({"method": method.decode(),
                                            "path": path.decode("latin-1")[:2000],
                                            "status": 200})
            if closing:
                return

    @staticmethod
    def _chunked(reader: _Reader) -> None:
        while True:
            size_line = reader.until(b"\r\n", 1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise _Stopped("malformed chunked body") from None
            if size == 0:
                while reader.until(b"\r\n", HEAD_BYTES):  # trailers, then the empty line
                    pass
                return
            reader.skip(size)
            reader.until(b"\r\n", 2)

    # -- teardown -----------------------------------------------------------
    def close(self, timeout_s: float = 5.0) -> None:
        """Stop accepting, end every connection, close every socket, join the threads."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        self._acceptor.join(timeout=timeout_s)
        self._selector.close()
        for sock in (*self._listeners, self._wake_r, self._wake_w):
            sock.close()
        with self._lock:
            open_now = list(self._open)
            threads = list(self._threads)
        for conn in open_now:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _readable(listener: socket.socket) -> bool:
    """True while a connection waits on ``listener`` to be accepted."""
    try:
        return bool(select.select([listener], [], [], 0)[0])
    except (OSError, ValueError):
        return False  # closed: nothing more is accepted


def _unread(conn: socket.socket) -> bool:
    """True while bytes sent on ``conn`` sit unread in its socket buffer."""
    try:
        waiting = fcntl.ioctl(conn.fileno(), termios.FIONREAD, b"\0\0\0\0")
    except (OSError, ValueError):
        return False  # closed by its thread: read to the end
    return int.from_bytes(waiting, sys.byteorder) > 0


def sandbox_view(plan: NetworkPlan, ca: RunCA, python: str | None = None
                 ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """What a sandbox spec needs for ``plan``: ``(hosts, file_binds, env)`` — the names in
    ``/etc/hosts``; the CA bundle laid over every certifi bundle of the worker's
    interpreter ``python`` (httpx, requests and others read it); ``SSL_CERT_FILE``
    (OpenSSL's default store: the ``ssl`` module, urllib, httpx) and
    ``REQUESTS_CA_BUNDLE`` (requests, whichever certifi it has) naming the bundle. Show
    ``ca.folder`` read-only too."""
    binds = dict.fromkeys(certifi_bundles(python), ca.bundle)
    return plan.hosts, binds, {"SSL_CERT_FILE": ca.bundle, "REQUESTS_CA_BUNDLE": ca.bundle}


def open_sinks(plan: NetworkPlan, pid: int, ca: RunCA | None) -> Sinks:
    """Sinks for ``plan`` in the network namespace of ``pid`` (a process in the sandbox
    started with :func:`sandbox_view`'s hosts). Raises
    :class:`~dufflebag_harness.outside.sandbox.NetnsError`."""
    sockets = listen_in_netns(pid, [(t.address, t.port) for t in plan.targets])
    return Sinks(plan, sockets, ca)
