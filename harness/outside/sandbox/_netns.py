"""Listening sockets inside a sandbox's network namespace, held by the parent.

A socket belongs to the network namespace it was created in, whoever holds it later.
So the parent can serve addresses that exist only inside the sandbox (``127.0.0.2:443``
on the sandbox's loopback) with sockets it keeps: something must *create* them in the
sandbox's namespace, then hand them over.

That something is a short-lived helper process, not a thread of the parent. Joining a
network namespace (``setns(fd, CLONE_NEWNET)``) needs CAP_SYS_ADMIN both in the user
namespace owning it and in the caller's own: root has both, an unprivileged parent
only the first (it owns the user namespace bwrap made), and gets EPERM. It must join
that user namespace first, which the kernel refuses to a multi-threaded process. A
single-threaded helper (``python -I -S``, stdlib only) joins the owning user namespace
(``NS_GET_USERNS`` of the namespace's fd), then the network namespace, creates and binds
the sockets (ports below 1024 too: it has CAP_NET_BIND_SERVICE there), sends them back
over a unix socket (``SCM_RIGHTS``) and exits. The same path runs as root and as an
unprivileged user, and no thread of the parent ever leaves its own namespace.

The parent trusts nothing the helper says: every socket it receives must be a listening
TCP socket of the asked address and port whose namespace (``SIOCGSKNS``) is the
sandbox's, and that namespace must not be the parent's own. Otherwise every socket is
closed and :class:`NetnsError` raised (fail closed).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
from collections.abc import Sequence

#: ioctl on a namespace fd: an fd of the user namespace that owns it (linux/nsfs.h).
NS_GET_USERNS = 0xB701
#: ioctl on a socket: an fd of the network namespace it belongs to (linux/sockios.h).
SIOCGSKNS = 0x894C
#: How long the helper may take before it is killed.
HELPER_TIMEOUT_S = 20.0
#: Addresses one call may ask for (SCM_RIGHTS carries at most 253 fds).
MAX_SOCKETS = 200

_HELPER = r"""
import ctypes, json, os, socket, sys
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
user_fd, net_fd, chan_fd = (int(a) for a in sys.argv[1:4])
chan = socket.socket(fileno=chan_fd)
def fail(message):
    chan.sendall(json.dumps({"error": message}).encode())
    sys.exit(1)
joined_user = ""
if libc.setns(user_fd, CLONE_NEWUSER) != 0:
    joined_user = "; joining its user namespace failed: " + os.strerror(ctypes.get_errno())
if libc.setns(net_fd, CLONE_NEWNET) != 0:
    fail("joining the network namespace failed: " + os.strerror(ctypes.get_errno())
         + joined_user)
made = []
for address, port in json.loads(sys.argv[4]):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind((address, port))
        sock.listen(64)
    except OSError as exc:
        fail(f"{address}:{port}: {exc.strerror or exc}")
    made.append(sock)
socket.send_fds(chan, [json.dumps({"ok": len(made)}).encode()], [s.fileno() for s in made])
"""


class NetnsError(RuntimeError):
    """The sockets could not be made, or what came back is not what was asked: none kept."""


def _ns_id(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _own_netns() -> tuple[int, int]:
    st = os.stat("/proc/thread-self/ns/net")
    return st.st_dev, st.st_ino


def _verify(sock: socket.socket, address: str, port: int, want: tuple[int, int]) -> None:
    if (sock.family, sock.type) != (socket.AF_INET, socket.SOCK_STREAM):
        raise NetnsError(f"{address}:{port}: not a TCP socket")
    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) != 1:
        raise NetnsError(f"{address}:{port}: not listening")
    if sock.getsockname() != (address, port):
        raise NetnsError(f"{address}:{port}: bound to {sock.getsockname()}")
    ns_fd = fcntl.ioctl(sock.fileno(), SIOCGSKNS)
    try:
        if _ns_id(ns_fd) != want:
            raise NetnsError(f"{address}:{port}: created in another network namespace")
    finally:
        os.close(ns_fd)


def listen_in_netns(pid: int, addresses: Sequence[tuple[str, int]], *,
                    timeout_s: float = HELPER_TIMEOUT_S) -> list[socket.socket]:
    """Listening TCP sockets bound to ``addresses`` in the network namespace of ``pid``,
    in the same order, made by a helper process (see the module docstring) and verified
    here. The caller owns them (not inheritable). Raises :class:`NetnsError`."""
    if not addresses:
        return []
    if len(addresses) > MAX_SOCKETS:
        raise NetnsError(f"at most {MAX_SOCKETS} sockets at once, {len(addresses)} asked")
    with contextlib.ExitStack() as stack:
        try:
            net_fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise NetnsError(f"cannot open the network namespace of pid {pid}: {exc}") from None
        stack.callback(os.close, net_fd)
        want = _ns_id(net_fd)
        if want == _own_netns():
            raise NetnsError(f"pid {pid} shares the parent's network namespace")
        try:
            user_fd = fcntl.ioctl(net_fd, NS_GET_USERNS)
        except OSError as exc:
            raise NetnsError(f"cannot find the user namespace owning it: {exc}") from None
        stack.callback(os.close, user_fd)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stack.enter_context(ours)
        with theirs:
            wanted = [[address, int(port)] for address, port in addresses]
            try:
                helper = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _HELPER, str(user_fd), str(net_fd),
                     str(theirs.fileno()), json.dumps(wanted)],
                    pass_fds=(user_fd, net_fd, theirs.fileno()), stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={}, cwd="/")
            except OSError as exc:
                raise NetnsError(f"cannot start the helper: {exc}") from None
        try:
            _, err = helper.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.communicate()
            raise NetnsError(f"the helper did not finish within {timeout_s:g} s") from None
        return _received(ours, addresses, want, helper.returncode, err)
    raise AssertionError("unreachable")  # pragma: no cover - the with block returns


def _received(chan: socket.socket, addresses: Sequence[tuple[str, int]],
              want: tuple[int, int], returncode: int, err: bytes) -> list[socket.socket]:
    chan.setblocking(False)
    fds: list[int] = []
    message = b""
    with contextlib.suppress(OSError):  # nothing sent: the helper's exit says why
        message, fds, _flags, _addr = socket.recv_fds(chan, 65536, MAX_SOCKETS + 1)
    socks = [socket.socket(fileno=fd) for fd in fds]
    try:
        try:
            said = json.loads(message or b"{}")
        except ValueError:
            said = {}
        if returncode != 0 or "error" in said:
            why = said.get("error") or err.decode(errors="replace").strip()[-500:]
            raise NetnsError(f"the helper failed (exit {returncode}): {why}")
        if len(socks) != len(addresses) or said.get("ok") != len(addresses):
            raise NetnsError(f"asked for {len(addresses)} sockets, got {len(socks)}")
        for sock, (address, port) in zip(socks, addresses, strict=True):
            _verify(sock, address, int(port), want)
        if _own_netns() == want:  # the parent never moves; this is a tripwire
            raise NetnsError("the parent is in the sandbox's network namespace")
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return socks


__all__ = ["NetnsError", "listen_in_netns"]
