"""The parent's side of the worker: spawn, talk, watch, kill.

This module must stay importable without the host or any extension: the
signing process uses it to drive the worker that runs untrusted code.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import os
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import psutil

from dufflebag_harness.outside.network_sinks import (
    NetworkPlan,
    RunCA,
    Sinks,
    open_sinks,
    plan_targets,
    sandbox_view,
)
from dufflebag_harness.outside.sandbox import (
    NetnsError,
    SandboxRecord,
    SandboxSpec,
    detect_sandbox,
)
from dufflebag_harness.outside.sandbox import start as start_sandboxed
from dufflebag_harness.shared.contract import ContractError, check_args, check_result
from dufflebag_harness.shared.protocol import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    LineReader,
    ProtocolError,
    decode,
    encode,
    reply_schema,
)

#: Listening sockets handed to each worker: one per host that may be up at once.
LISTENERS = 12
#: RLIMIT_DATA headroom for the harness itself inside the worker (threads reserve 8 MB
#: stacks each; uvicorn, SQLAlchemy, the reference host): the cap is the extension's
#: ``memory_mb`` plus this. What the extension really used is judged from outside.
HARNESS_MEMORY_MB = 1024
#: The worker's stdout/stderr kept by the parent, at most (the tail is what matters).
LOG_LIMIT = 32 * 1024 * 1024


class WorkerError(Exception):
    """The worker crashed, timed out or broke the protocol: fail closed."""


class WorkerOpError(Exception):
    """The worker answered an operation with an error (data, not a crash)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass
class WorkerInfo:
    """What the report says about one worker: who it was and how it was confined."""

    uid: int
    pid: int
    python: str
    sandbox: dict[str, Any] | None
    isolation_note: str
    peak_rss_mb: float = 0.0
    log_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def sandboxed(self) -> bool:
        return self.sandbox is not None


def _scrubbed_env(home: Path) -> dict[str, str]:
    """A minimal environment: no keys, no GNUPGHOME, no DUFFLEBAG_* settings."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(home / "home"),
        "TMPDIR": str(home / "tmp"),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _random_b64(nbytes: int) -> str:
    return base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def _write_secret(home: Path, rel: str, text: str) -> None:
    """A file only its owner reads, in folders only its owner opens (as real tools make)."""
    path = home / rel
    for folder in reversed(path.relative_to(home).parents[:-1]):
        (home / folder).mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)


def _plant_canaries(home: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Fresh fake secrets for one worker: ``(environment, {label: value})``.

    Shaped like the real thing and drawn anew for every worker, so extension code can
    neither recognise nor special-case them: variables in the environment and the
    usual credential files in ``home`` (the worker's HOME). A value spanning lines (a
    key block) is the whole block. The parent keeps the values to search what leaves
    the sandbox for them (SE-06); nothing of the harness prints them.
    """
    env = {
        "AWS_ACCESS_KEY_ID": "AKIA" + base64.b32encode(secrets.token_bytes(10)).decode(),
        "AWS_SECRET_ACCESS_KEY": _random_b64(30),
        "GITHUB_TOKEN": "ghp_" + secrets.token_hex(18),
        "DATABASE_PASSWORD": secrets.token_urlsafe(18),
    }
    labels = {f"environment variable {name}": value for name, value in env.items()}
    aws_secret = _random_b64(30)
    _write_secret(home, ".aws/credentials",
                  "[default]\naws_access_key_id = AKIA"
                  f"{base64.b32encode(secrets.token_bytes(10)).decode()}\n"
                  f"aws_secret_access_key = {aws_secret}\n")
    body = _random_b64(300)
    ssh_key = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
               + "".join(body[i:i + 70] + "\n" for i in range(0, len(body), 70))
               + "-----END OPENSSH PRIVATE KEY-----\n")
    _write_secret(home, ".ssh/id_ed25519", ssh_key)
    gpg_secret = secrets.token_hex(32).upper()
    _write_secret(home, f".gnupg/private-keys-v1.d/{secrets.token_hex(20).upper()}.key",
                  "Created: 20250114T093012\n"
                  "Key: (private-key (ecc (curve Ed25519)(flags eddsa)"
                  f"(q #40{secrets.token_hex(32).upper()}#)\n (d #{gpg_secret}#)))\n")
    netrc_password = secrets.token_urlsafe(18)
    _write_secret(home, ".netrc",
                  f"machine git.example.org login deploy password {netrc_password}\n")
    labels.update({
        "file ~/.aws/credentials": aws_secret,
        "file ~/.ssh/id_ed25519": ssh_key,
        "file ~/.gnupg/private-keys-v1.d/*.key": gpg_secret,
        "file ~/.netrc": netrc_password,
    })
    return env, labels


def harness_source_dirs() -> list[str]:
    """Folders the worker must see to import the harness, beyond the interpreter's own.

    An ordinary install lives in the interpreter's site-packages, which the sandbox
    shows anyway. An editable install (a checkout) puts a link tree or a finder on the
    path: show the folder the package is found in and the real folders its files link
    to, read-only, and nothing else of the checkout.
    """
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    found: set[str] = set()
    for name in ("dufflebag_harness", "dufflebag_harness.conformance",
                 "dufflebag_harness.fixtures", "dufflebag_harness.reports"):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        link_dir = os.path.dirname(os.path.abspath(spec.origin))
        for folder in (os.path.dirname(link_dir) if name == "dufflebag_harness" else None,
                       os.path.dirname(os.path.realpath(spec.origin))):
            if folder and not any(folder == p or folder.startswith(p + os.sep)
                                  for p in prefixes):
                found.add(os.path.realpath(folder))
    return sorted(found)


def _listeners(count: int) -> list[socket.socket]:
    """Listening TCP sockets on 127.0.0.1 for the worker's hosts.

    The sandbox has no network of its own that the parent could reach, so the parent
    makes the sockets and hands them in; the worker serves on them, the parent connects
    to their ports. IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets
    accepted from a TCP listener (else every response waits ~40 ms for a delayed ACK).
    """
    made: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            made.append(sock)
            sock.bind(("127.0.0.1", 0))
            sock.listen(128)
            sock.set_inheritable(True)
    except OSError:
        for sock in made:
            sock.close()
        raise
    return made


def _inner_pid(pid: int) -> int | None:
    """The pid a process has inside its own pid namespace (``NSpid``'s last field), as
    ``/proc`` on the host tells it: the worker says its pid in ``hello`` before any
    extension code runs, so the parent can tell the worker from what it spawned."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        return None
    return None


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def _descendants(top: psutil.Process) -> list[psutil.Process]:
    """Every process below ``top``. Read from each task's ``children`` file (a few small
    reads for a sandbox) rather than psutil's walk, which reads the parent of every
    process on the machine, several times a second for each worker's memory poll."""
    if not os.path.exists(f"/proc/{top.pid}/task/{top.pid}/children"):
        walked: list[psutil.Process] = top.children(recursive=True)  # no children files
        return walked
    found: list[psutil.Process] = []
    todo = [top.pid]
    while todo:
        pid = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # gone meanwhile
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as fh:
                    children = [int(c) for c in fh.read().split()]
            except OSError:
                continue
            for child in children:
                todo.append(child)
                with contextlib.suppress(psutil.Error):
                    found.append(psutil.Process(child))
    return found


def _tasks(pid: int) -> list[dict[str, Any]]:
    """The threads of ``pid`` as the kernel shows them: id, state (``R`` running, ``S``
    sleeping...) and the kernel function a sleeping thread waits in (``wchan``: e.g.
    ``hrtimer_nanosleep`` for ``time.sleep``, ``futex_*`` for a lock or a queue,
    ``do_epoll_wait``/``do_sys_poll`` for I/O)."""
    out = []
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except (OSError, ValueError):
        return []
    for tid in tids:
        stat = _read(f"/proc/{pid}/task/{tid}/stat")
        state = stat.rsplit(")", 1)[-1].split()[0] if ")" in stat else "?"
        out.append({"tid": tid, "state": state,
                    "wchan": _read(f"/proc/{pid}/task/{tid}/wchan")})
    return out


def _fd_kinds(pid: int) -> list[str]:
    """What each open descriptor of ``pid`` is, without its number: ``socket``,
    ``pipe``, ``anon_inode:[eventpoll]``, or the file's path."""
    kinds = []
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        for prefix in ("socket:", "pipe:"):
            if target.startswith(prefix):
                target = prefix[:-1]
        kinds.append(target)
    return sorted(kinds)


class WorkerClient:
    """One worker subprocess, sandboxed unless told otherwise. Use as a context manager.

    ``sandbox=True`` starts it inside bubblewrap (:mod:`dufflebag_harness.outside.sandbox`):
    no network, no view of the parent's files or processes, a memory cap, every process
    gone when it ends. ``ro_binds`` adds folders it may read (a PostgreSQL socket
    folder). ``sandbox=False`` is for machines without a working sandbox: the report
    then says so and the level is capped by the caller.

    ``network`` are the ``host:port`` patterns the extensions it runs declare: each
    concrete one answers inside the sandbox with a sink of the parent's that records what
    was sent (:mod:`dufflebag_harness.outside.network_sinks`, :meth:`network_log`); the
    other patterns are not reachable there (``network_plan.unreachable``). None declared:
    no sink, no CA, nothing more to start.

    ``python`` is the interpreter the worker runs with: an extension's environment
    (:mod:`dufflebag_harness.outside.environments`, its folder among ``ro_binds``);
    default the harness's own.
    """

    def __init__(self, *, sandbox: bool = True, memory_mb: int = 256,
                 ro_binds: Sequence[str] = (), op_timeout_s: float = 120.0,
                 network: Sequence[str] = (), python: str | None = None) -> None:
        self.op_timeout_s = op_timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="dbw-"))
        self._logdir = Path(tempfile.mkdtemp(prefix="dbwl-"))
        for sub in ("home", "tmp", "ext", "cwd"):
            (self._dir / sub).mkdir()
        self.ext_dir = self._dir / "ext"
        planted_env, planted = _plant_canaries(self._dir / "home")
        self._canaries: Mapping[str, str] = MappingProxyType(planted)
        self.log_path = self._logdir / "worker.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the worker
        self.dead: str | None = None
        self.peak_rss_mb = 0.0
        self._stop_poll = threading.Event()
        self._closed = False
        listeners = _listeners(LISTENERS)
        self.ports = frozenset(s.getsockname()[1] for s in listeners)
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        out_r, out_w = os.pipe()
        fds = [s.fileno() for s in listeners]
        argv = [python or sys.executable, "-I", "-m", "dufflebag_harness.inside.worker",
                "--cmd-fd", str(cmd_r), "--reply-fd", str(rep_w),
                "--listen-fds", ",".join(map(str, fds))]
        env = {**_scrubbed_env(self._dir), **planted_env}
        self.sandbox_record: dict[str, Any] | None = None
        #: What the declared network patterns became (sinks and unreachable patterns).
        self.network_plan = plan_targets(network) if sandbox else NetworkPlan()
        self._ca: RunCA | None = None
        self._sinks: Sinks | None = None
        try:
            if sandbox:
                hosts: dict[str, str] = {}
                file_binds: dict[str, str] = {}
                ca_dirs: tuple[str, ...] = ()
                if self.network_plan.targets:
                    # TLS to a sink is trusted inside this sandbox only: its CA goes into
                    # a bundle shown read-only there, named by SSL_CERT_FILE and laid over
                    # the certifi bundles of the worker's interpreter; the parent's trust
                    # is never touched
                    self._ca = RunCA()
                    hosts, file_binds, ca_env = sandbox_view(self.network_plan, self._ca,
                                                             python)
                    ca_dirs = (str(self._ca.folder),)
                    env.update(ca_env)
                spec = SandboxSpec(env=env, cwd=str(self._dir / "cwd"),
                                   rw_binds=(str(self._dir),),
                                   ro_binds=(*harness_source_dirs(), *ro_binds, *ca_dirs),
                                   memory_mb=memory_mb + HARNESS_MEMORY_MB,
                                   # a fresh uid per worker: "uid 65534" means nothing, so
                                   # extension code cannot tell a test run by its uid
                                   uid=1000 + secrets.randbelow(60000),
                                   hosts=hosts, file_binds=file_binds)
                status = detect_sandbox()
                self.proc = start_sandboxed(
                    spec, argv, pass_fds=(cmd_r, rep_w, *fds), stdin=subprocess.DEVNULL,
                    stdout=out_w, stderr=out_w, start_new_session=True, status=status)
                self.sandbox_record = SandboxRecord.from_spec(spec, status).to_json()
                self.isolation_note = (f"sandboxed with bubblewrap {status.version}: no "
                                       "network, only its own files, its own processes")
                if self.network_plan.note():
                    self.isolation_note += f"; {self.network_plan.note()}"[:1800]
            else:
                self.proc = subprocess.Popen(
                    argv, pass_fds=(cmd_r, rep_w, *fds), stdin=subprocess.DEVNULL,
                    stdout=out_w, stderr=out_w, cwd=self._dir / "cwd", env=env,
                    start_new_session=True)
                self.isolation_note = "not sandboxed: the worker ran as the harness's own user"
                if network:
                    self.isolation_note += ("; its declared network targets were not "
                                            "intercepted (no sandbox)")
        except BaseException:
            for fd in (cmd_r, cmd_w, rep_r, rep_w, out_r, out_w):
                os.close(fd)
            for sock in listeners:
                sock.close()
            if self._ca is not None:
                self._ca.close()
            self._log.close()
            shutil.rmtree(self._dir, ignore_errors=True)
            shutil.rmtree(self._logdir, ignore_errors=True)
            raise
        for fd in (cmd_r, rep_w, out_w):
            os.close(fd)
        for sock in listeners:  # the worker holds them now; the parent only connects
            sock.close()
        self._cmd_w = cmd_w
        self._reader = LineReader(rep_r)
        self._validator = jsonschema.Draft202012Validator(reply_schema())
        self._next_id = 0
        self._lock = threading.Lock()
        self._drain = threading.Thread(target=self._drain_output, args=(out_r,), daemon=True)
        self._drain.start()
        self._poller = threading.Thread(target=self._poll_memory, daemon=True)
        self._poller.start()
        hello = self.call("hello", timeout=60)
        if hello.get("protocol") != PROTOCOL_VERSION:
            self.kill(f"worker speaks protocol {hello.get('protocol')!r}")
            raise WorkerError("worker protocol version mismatch")
        if self.network_plan.targets:
            self._start_sinks(int(hello["pid"]))
        #: Resident memory of the sandbox before any extension code was imported
        #: (measured from outside): what the harness itself holds at start.
        self.rss_before_load_mb = self.rss_mb()
        self.info = WorkerInfo(
            uid=int(hello["uid"]), pid=int(hello["pid"]), python=str(hello["python"]),
            sandbox=self.sandbox_record, isolation_note=self.isolation_note,
            log_path=str(self.log_path),
        )

    def _start_sinks(self, inner_pid: int) -> None:
        """Listening sockets for every declared target, made in the worker's network
        namespace and kept here, served by :class:`Sinks`. Before any extension code is
        loaded; a failure ends the worker (fail closed: its network would be a lie)."""
        worker = [p for p in self.processes() if _inner_pid(p.pid) == inner_pid]
        try:
            if len(worker) != 1:
                raise NetnsError(f"{len(worker)} processes are the worker (pid {inner_pid} "
                                 "inside)")
            self._sinks = open_sinks(self.network_plan, worker[0].pid, self._ca)
        except NetnsError as exc:
            self.close()
            raise WorkerError(f"the network sinks could not be made: {exc}") from None

    def network_log(self) -> list[dict[str, Any]]:
        """What the extension sent to its declared targets, recorded by the parent's sinks:
        one dict per connection, oldest first (``target`` ``host:port``, ``address``,
        ``at`` (epoch seconds), ``tls``, ``sni``, ``received`` (bytes: the decrypted
        stream for TLS, at most 1 MiB per target), ``received_bytes`` (all of it),
        ``truncated``, ``requests`` (``method``, ``path``, ``status``), ``error``,
        ``closed``). Copies: nothing inside the sandbox can rewrite them. Empty when
        nothing was declared or the worker is not sandboxed."""
        return self._sinks.log() if self._sinks is not None else []

    def sink_threads(self) -> list[threading.Thread]:
        """The sinks' threads still alive (none once the worker is closed)."""
        return self._sinks.threads() if self._sinks is not None else []

    @property
    def canaries(self) -> Mapping[str, str]:
        """The fake secrets planted in this worker (read-only): label -> value. Labels say
        where each sits (``environment variable GITHUB_TOKEN``, ``file ~/.ssh/id_ed25519``);
        values are this worker's own, never shown by the harness."""
        return self._canaries

    # -- what leaves the sandbox ------------------------------------------------
    def _drain_output(self, fd: int) -> None:
        """Copy the worker's stdout/stderr (one pipe, read at the fd level) to the log.

        The log lives in a folder the sandbox cannot see, so nothing inside can
        rewrite what it already wrote; past :data:`LOG_LIMIT` the rest is dropped.
        """
        written = 0
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 65536):
                if written < LOG_LIMIT:
                    self._log.write(chunk[: LOG_LIMIT - written])
                    self._log.flush()
                    written += len(chunk)
        with contextlib.suppress(OSError):
            os.close(fd)

    def processes(self) -> list[psutil.Process]:
        """Every process the worker's sandbox holds, seen from outside (bwrap's own
        two excluded when sandboxed)."""
        try:
            top = psutil.Process(self.proc.pid)
            inside = _descendants(top)
        except psutil.Error:
            return []
        if self.sandbox_record is None:
            return [top, *inside]
        # bwrap's outer process is ``top``; its pid-1 reaper is its only child
        kept = []
        for proc in inside:
            with contextlib.suppress(psutil.Error):  # gone meanwhile: nothing to see
                if proc.ppid() != self.proc.pid:
                    kept.append(proc)
        return kept

    def observe(self) -> list[dict[str, Any]]:
        """Every process in the sandbox as ``/proc`` shows it to the parent: pid, parent,
        name, threads, open fds, resident MB. Nothing here asks the worker."""
        seen = []
        worker_pid = self.info.pid if hasattr(self, "info") else None
        for proc in self.processes():
            with contextlib.suppress(psutil.Error), proc.oneshot():
                role = "worker" if _inner_pid(proc.pid) == worker_pid else "other"
                seen.append({"pid": proc.pid, "ppid": proc.ppid(), "name": proc.name(),
                             "role": role,
                             "threads": proc.num_threads(), "fds": proc.num_fds(),
                             "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                             "tasks": _tasks(proc.pid), "fd_kinds": _fd_kinds(proc.pid)})
        return seen

    def paths_named(self, marker: str, *, limit: int = 200) -> list[str]:
        """Every file or folder whose name contains ``marker`` in what the sandbox can
        write: the worker's own folder and its private ``/tmp`` and ``/dev/shm`` (read
        through ``/proc/<pid>/root``, the sandbox's view). Paths as the sandbox sees
        them; walked without following a link. Nothing here asks the worker."""
        roots: list[tuple[Path, str]] = [(self._dir, str(self._dir))]
        for proc in self.processes()[:1]:
            for private in ("tmp", "dev/shm"):
                roots.append((Path(f"/proc/{proc.pid}/root/{private}"), "/" + private))
        found: list[str] = []
        for root, shown in roots:
            for folder, dirs, files in os.walk(root, followlinks=False):
                for name in (*dirs, *files):
                    if marker in name and len(found) < limit:
                        rel = os.path.relpath(os.path.join(folder, name), root)
                        found.append(os.path.join(shown, rel))
        return sorted(found)

    # -- memory ------------------------------------------------------------
    def rss_mb(self) -> float:
        """Resident memory of everything in the sandbox now, in MB (from outside)."""
        total = 0
        for proc in self.processes():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total / (1024 * 1024)

    def _poll_memory(self) -> None:
        while not self._stop_poll.wait(0.1):
            self.peak_rss_mb = max(self.peak_rss_mb, self.rss_mb())
            if self.proc.poll() is not None:
                return

    # -- calls -------------------------------------------------------------
    def call(self, op: str, /, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Run ``op`` in the worker; raise WorkerOpError for an answered error,
        WorkerError (after killing the worker) for anything else.

        Both ways through the worker contract (:mod:`dufflebag_harness.shared.contract`):
        an op or probe it does not declare, or arguments that do not fit, are not sent
        (WorkerOpError of the kind the worker would answer); a result that does not fit
        its declared type comes from a broken or tampered worker (WorkerError, killed).
        """
        try:
            check_args(op, args)
        except ContractError as exc:
            raise WorkerOpError(exc.kind, f"{exc.message} (not sent)") from None
        with self._lock:
            if self.dead:
                raise WorkerError(f"worker is gone: {self.dead}")
            self._next_id += 1
            req_id = self._next_id
            try:
                data = encode({"v": 0, "id": req_id, "op": op, "args": args})
                os.write(self._cmd_w, data)
            except (OSError, ProtocolError) as exc:
                self.kill(f"could not send {op}: {exc}")
                raise WorkerError(f"could not send {op}: {exc}") from None
            reply = self._read_reply(op, req_id, timeout or self.op_timeout_s)
        if reply["ok"]:
            result: dict[str, Any] = reply["result"]
            try:
                check_result(op, args, result)
            except ContractError as exc:
                self.kill(f"invalid reply to {op}: {exc.message}")
                raise WorkerError(f"invalid reply to {op}: {exc.message}") from None
            if op == "host.start" and result.get("port") not in self.ports:
                # the parent connects to what the worker names: only its own sockets
                self.kill(f"host.start answered port {result.get('port')!r}, not one it was given")
                raise WorkerError("host.start answered a port the worker was not given")
            return result
        err = reply["error"]
        raise WorkerOpError(str(err["kind"]), str(err["message"]))

    def _read_reply(self, op: str, req_id: int, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._reader.pending_line()
            except ProtocolError as exc:
                self.kill(str(exc))
                raise WorkerError(f"{op}: {exc}") from None
            if line is not None:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill(f"{op} timed out after {timeout:.0f} s")
                raise WorkerError(f"{op} timed out after {timeout:.0f} s")
            ready, _, _ = select.select([self._reader.fd], [], [], min(remaining, 0.5))
            if ready and not self._reader.feed():
                code = self.proc.poll()
                self.kill(f"worker exited (code {code}) during {op}")
                raise WorkerError(f"worker exited (code {code}) during {op}")
        try:
            reply = decode(line)
            self._validator.validate(reply)
        except (ProtocolError, jsonschema.ValidationError) as exc:
            msg = getattr(exc, "message", str(exc))
            self.kill(f"invalid reply to {op}: {msg}")
            raise WorkerError(f"invalid reply to {op}: {msg}") from None
        if reply["id"] != req_id:
            self.kill(f"reply id {reply['id']} does not match request {req_id}")
            raise WorkerError(f"reply out of order during {op}")
        return reply

    def output_size(self) -> int:
        """Bytes of stdout/stderr the parent has kept so far."""
        self._log.flush()
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def output(self, since: int = 0, *, settle_s: float = 0.3) -> str:
        """The worker's stdout/stderr from byte ``since`` on, as read at the fd level by
        the parent: whatever extension code wrote to fd 1 or 2, however it got there.
        Waits ``settle_s`` first so the drain has caught up with recent writes."""
        time.sleep(settle_s)
        try:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                return log.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, limit: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    # -- teardown ----------------------------------------------------------
    def kill(self, reason: str) -> None:
        self.dead = self.dead or reason
        inside = self.processes()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)
        for proc in inside:  # the sandbox dies with bwrap; do not wait for the kernel
            with contextlib.suppress(psutil.Error):
                proc.kill()
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if not self.dead:
            with contextlib.suppress(WorkerError, WorkerOpError):
                self.call("shutdown", timeout=10)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            self.kill("closed")
        self._stop_poll.set()
        self._drain.join(timeout=5)
        if hasattr(self, "info"):
            self.info.peak_rss_mb = round(self.peak_rss_mb, 1)
        for fd in (self._cmd_w, self._reader.fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()
        if self._sinks is not None:
            self._sinks.close()
        if self._ca is not None:
            self._ca.close()
        shutil.rmtree(self._dir, ignore_errors=True)
        shutil.rmtree(self._logdir, ignore_errors=True)

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["MAX_MESSAGE_BYTES", "WorkerClient", "WorkerError", "WorkerInfo", "WorkerOpError"]
