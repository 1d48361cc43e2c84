"""What the sandboxed side can see and do, proven from inside.

Each test runs a script in the sandbox and asserts on its report; where a property
could hold for a dull reason (a path that does not exist on the host either, a
port nobody listens on) the host side is checked first, so the test can fail.
"""

from __future__ import annotations

import errno
import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dufflebag_harness.outside.sandbox import (
    NAMESPACES,
    SANDBOX_UID,
    SandboxSpec,
    SandboxStatus,
    start,
)

from ._helpers import BASE_ENV, run_inside


def _pyenv_pythons() -> list[str]:
    found = []
    for path in sorted(glob.glob("/root/.pyenv/versions/*/bin/python3")):
        if os.access(path, os.X_OK) and not os.path.basename(
                os.path.dirname(os.path.dirname(path))).startswith("2."):
            found.append(path)
    return found


def _pyenv_like_ours() -> list[str]:
    """The pyenv interpreter matching the running one (or the newest), if any."""
    found = _pyenv_pythons()
    ours = f"/{sys.version_info.major}.{sys.version_info.minor}."
    same = [p for p in found if ours in p]
    return (same or found)[-1:]


PYTHONS = [pytest.param(sys.executable, id="venv"),
           *(pytest.param(p, id="pyenv-" + p.split("/")[-3]) for p in _pyenv_like_ours())]

PROBE = r'''
import json, os, socket, sys
port, exists, reads, writes = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
facts = {"ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
         "groups": os.getgroups(), "prefix": sys.prefix, "hostname": socket.gethostname()}
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
facts["cap_eff"] = status["CapEff"].strip()
facts["ns"] = dict((n, os.readlink("/proc/self/ns/" + n)) for n in sys.argv[5].split(","))
facts["env"] = dict(os.environ)
facts["interfaces"] = [name for _, name in socket.if_nameindex()]
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
facts["new_userns"] = libc.unshare(0x10000000)  # CLONE_NEWUSER: refused
def tcp(host, port):
    s = socket.socket()
    s.settimeout(5)
    try:
        s.connect((host, port))
        return "connected"
    except OSError as exc:
        return exc.errno
    finally:
        s.close()
facts["net_public"] = tcp("1.1.1.1", 80)
facts["net_parent"] = tcp("127.0.0.1", int(port))
facts["exists"] = dict((p, os.path.exists(p)) for p in exists.split(",") if p)
def read(path):
    try:
        with open(path, "rb") as f:
            f.read()
        return "read"
    except OSError as exc:
        return exc.errno
facts["read"] = dict((p, read(p)) for p in reads.split(",") if p)
def write(path):
    try:
        with open(path, "w") as f:
            f.write("from inside")
        return "written"
    except OSError as exc:
        return exc.errno
facts["write"] = dict((p, write(p)) for p in writes.split(",") if p)
procs = {}
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                procs[pid] = f.read().replace(b"\0", b" ").decode()
        except OSError:
            pass
facts["procs"] = procs
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return exc.errno
facts["home_tree"] = dict((p, listing(p)) for p in ["/root", "/root/.pyenv",
                                                    "/root/.pyenv/versions"])
print(json.dumps(facts))
'''


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP socket the parent listens on at 127.0.0.1."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock
    sock.close()


@pytest.fixture
def home_canary() -> Iterator[Path]:
    """A secret-looking file in the caller's home (``/root`` when root)."""
    home = Path.home()
    folder = Path(tempfile.mkdtemp(prefix=".dufflebag-sandbox-canary-", dir=home))
    secret = folder / "secring.gpg"
    secret.write_text("not for extensions")
    yield secret
    secret.unlink()
    folder.rmdir()


@pytest.mark.parametrize("python", PYTHONS)
def test_the_sandboxed_side_sees_only_what_it_is_given(
        python: str, sandbox_status: SandboxStatus, work: Path, tmp_path: Path,
        listener: socket.socket, home_canary: Path, private_gnupghome: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    canary_value = uuid.uuid4().hex
    monkeypatch.setenv("DUFFLEBAG_SANDBOX_CANARY", canary_value)
    other_tmp = tmp_path / "not-shared"
    other_tmp.mkdir()
    tmp_canary = other_tmp / "canary.txt"
    tmp_canary.write_text(canary_value)
    parent = os.getpid()
    unique = uuid.uuid4().hex
    hidden = [str(home_canary), "/root/.gnupg", str(private_gnupghome),
              str(tmp_canary), f"/proc/{parent}", "/work", "/etc/shadow"]
    # the host has them (else "invisible" would prove nothing), except the two that
    # merely must not appear: /root/.gnupg (none here; the suite's GnuPG home stands in)
    for path in (str(home_canary), str(private_gnupghome), str(tmp_canary), f"/proc/{parent}"):
        assert os.path.exists(path), path
    reads = [str(tmp_canary), str(home_canary), f"/proc/{parent}/environ"]
    prefix = os.path.dirname(os.path.dirname(python))
    writes = ["/usr/sandbox-probe", f"{prefix}/sandbox-probe", "/sandbox-probe",
              "/etc/passwd", f"{work}/from-inside", f"/tmp/sandbox-probe-{unique}"]
    spec = SandboxSpec(env=BASE_ENV, cwd=str(work), rw_binds=(str(work),), python=python)

    ran = run_inside(spec, PROBE, str(listener.getsockname()[1]), ",".join(hidden),
                     ",".join(reads), ",".join(writes), ",".join(NAMESPACES), python=python)
    assert ran.returncode == 0, ran.stderr
    facts = json.loads(ran.stdout)

    # identity: nobody, no capabilities, fresh namespaces of every kind
    assert facts["ids"] == [SANDBOX_UID] * 4
    assert 0 not in facts["groups"]
    assert facts["cap_eff"] == "0000000000000000"
    assert facts["hostname"] == "sandbox"
    assert facts["new_userns"] == -1
    for name in NAMESPACES:
        assert facts["ns"][name] != os.readlink(f"/proc/self/ns/{name}"), name
    # the environment is exactly the one given
    assert facts["env"] == BASE_ENV
    assert canary_value not in json.dumps(facts["env"])
    # no network: only a loopback of its own; the parent's port is not reachable
    assert facts["interfaces"] == ["lo"]
    assert facts["net_public"] == errno.ENETUNREACH
    assert facts["net_parent"] == errno.ECONNREFUSED
    listener.setblocking(False)
    with pytest.raises(BlockingIOError):
        listener.accept()
    # the parent's files, keys, processes and /tmp are invisible
    assert not any(facts["exists"].values()), facts["exists"]
    assert all(result == errno.ENOENT for result in facts["read"].values()), facts["read"]
    assert str(parent) not in facts["procs"]
    # only bwrap's reaper (pid 1) and the command (pid 2) exist in its pid namespace
    assert sorted(facts["procs"]) == ["1", "2"], facts["procs"]
    assert facts["procs"]["1"].startswith(sandbox_status.tool + " ")
    # only the interpreter's own folder shows under /root (pyenv), nothing else of it
    tree = facts["home_tree"]
    if python.startswith("/root/.pyenv/"):
        version = python.split("/")[4]
        assert tree == {"/root": [".pyenv"], "/root/.pyenv": ["versions"],
                        "/root/.pyenv/versions": [version]}
    else:
        assert set(map(str, tree.values())) == {str(errno.ENOENT)}
    # read-only everywhere but the rw bind and the private /tmp
    written = facts["write"]
    for path in writes[:3]:
        assert written[path] == errno.EROFS, (path, written[path])
    assert written["/etc/passwd"] in (errno.EROFS, errno.EACCES)
    assert written[f"{work}/from-inside"] == "written"
    assert written[f"/tmp/sandbox-probe-{unique}"] == "written"
    assert (work / "from-inside").read_text() == "from inside"
    assert not os.path.exists(f"/tmp/sandbox-probe-{unique}")
    # the interpreter is the one asked for
    assert facts["prefix"] == prefix


ECHO = r'''
import socket, sys
server = socket.socket(fileno=int(sys.argv[1]))
conn, _ = server.accept()
conn.sendall(b"echo:" + conn.recv(100))
conn.close()
'''


def test_a_passed_listening_socket_serves_the_parent(
        sandbox_status: SandboxStatus, listener: socket.socket) -> None:
    listener.set_inheritable(True)
    fd = listener.fileno()
    spec = SandboxSpec(env=BASE_ENV)
    proc = start(spec, [sys.executable, "-I", "-c", ECHO, str(fd)], pass_fds=(fd,),
                 stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    try:
        with socket.create_connection(listener.getsockname(), timeout=60) as client:
            client.sendall(b"ping")
            assert client.recv(100) == b"echo:ping"
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        proc.kill()
        proc.wait()


UNIX_CLIENT = r'''
import os, socket, sys
path = sys.argv[1]
client = socket.socket(socket.AF_UNIX)
client.connect(path)
client.sendall(b"hello")
print(client.recv(100).decode())
try:
    open(os.path.join(os.path.dirname(path), "written"), "w")
    print("wrote")
except OSError as exc:
    print(exc.errno)
'''


def test_a_unix_socket_is_reachable_through_a_read_only_bind(
        sandbox_status: SandboxStatus, tmp_path: Path) -> None:
    """What PostgreSQL's socket folder needs: a read-only bind is enough to connect."""
    folder = tmp_path / "pgsock"
    folder.mkdir()
    path = folder / ".s.PGSQL.5432"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    os.chmod(path, 0o777)  # PostgreSQL's default unix_socket_permissions
    spec = SandboxSpec(env=BASE_ENV, ro_binds=(str(folder),))
    proc = start(spec, [sys.executable, "-I", "-c", UNIX_CLIENT, str(path)], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    try:
        server.settimeout(60)
        conn, _ = server.accept()
        conn.sendall(conn.recv(100).upper())
        conn.close()
        out, err = proc.communicate(timeout=60)
    finally:
        server.close()
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    assert out.decode().split() == ["HELLO", str(errno.EROFS)]
    assert not (folder / "written").exists()


@pytest.mark.parametrize("python", _pyenv_pythons() or [
    pytest.param("", marks=pytest.mark.skip(reason="no pyenv interpreter on this machine"))])
def test_every_pyenv_interpreter_runs_sandboxed(python: str,
                                                sandbox_status: SandboxStatus) -> None:
    prefix = os.path.dirname(os.path.dirname(python))
    script = ("import json, os, sys; print(json.dumps([os.getuid(), sys.prefix, "
              "sorted(os.listdir('/root'))]))")
    ran = run_inside(SandboxSpec(env=BASE_ENV, python=python), script)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == [SANDBOX_UID, prefix, [".pyenv"]]
