"""The parent's side of the worker: spawn, talk, watch, kill.

This module must stay importable without the host or any extension: the
signing process uses it to drive the worker that runs untrusted code.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from dufflebag_harness.shared.protocol import (
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    LineReader,
    ProtocolError,
    decode,
    encode,
    reply_schema,
)

UNPRIVILEGED_USER = "nobody"


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
    uid: int
    pid: int
    python: str
    uid_separated: bool
    separation_note: str
    peak_rss_mb: float = 0.0
    log_path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


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


@functools.lru_cache(maxsize=1)
def unprivileged_ids() -> tuple[int, int, str] | None:
    """(uid, gid, note) of the unprivileged user when we can drop to it."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        return None
    try:
        probe = subprocess.run(
            [sys.executable, "-I", "-c",
             "import dufflebag_harness.inside.worker._server, starlette, sqlalchemy"],
            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], cwd="/",
            env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=60, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        # e.g. the interpreter lives under a 0700 home (pyenv in /root): the
        # unprivileged user cannot even execute it, so the worker stays unseparated
        return None
    if probe.returncode != 0:
        return None
    return pw.pw_uid, pw.pw_gid, f"worker ran as {UNPRIVILEGED_USER} (uid {pw.pw_uid})"


def separation_unavailable_reason() -> str:
    if os.geteuid() != 0:
        return "the harness does not run as root, so the worker runs as the same user"
    return (f"the interpreter {sys.executable} or the installed harness is not readable by "
            f"{UNPRIVILEGED_USER}; install the harness in a world-readable virtualenv "
            "(e.g. made from /usr/bin/python3) to separate the worker")


class WorkerClient:
    """One worker subprocess. Use as a context manager; always closed."""

    def __init__(self, *, separate_uid: bool = True, op_timeout_s: float = 120.0) -> None:
        self.op_timeout_s = op_timeout_s
        self._dir = Path(tempfile.mkdtemp(prefix="dbw-"))
        for sub in ("home", "tmp", "ext", "cwd"):
            (self._dir / sub).mkdir()
        ids = unprivileged_ids() if separate_uid else None
        self.uid_separated = ids is not None
        self.separation_note = ids[2] if ids else separation_unavailable_reason()
        if ids:
            os.chmod(self._dir, 0o755)
            for sub in ("home", "tmp", "cwd"):
                os.chown(self._dir / sub, ids[0], ids[1])
        self.ext_dir = self._dir / "ext"
        cmd_r, cmd_w = os.pipe()
        rep_r, rep_w = os.pipe()
        self.log_path = self._dir / "worker.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the worker
        kwargs: dict[str, Any] = {}
        if ids:
            kwargs.update(user=ids[0], group=ids[1], extra_groups=[])
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-m", "dufflebag_harness.inside.worker",
             "--cmd-fd", str(cmd_r), "--reply-fd", str(rep_w)],
            pass_fds=(cmd_r, rep_w), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, cwd=self._dir / "cwd", env=_scrubbed_env(self._dir),
            start_new_session=True, **kwargs,
        )
        os.close(cmd_r)
        os.close(rep_w)
        self._cmd_w = cmd_w
        self._reader = LineReader(rep_r)
        self._validator = jsonschema.Draft202012Validator(reply_schema())
        self._next_id = 0
        self._lock = threading.Lock()
        self.peak_rss_mb = 0.0
        self._stop_poll = threading.Event()
        self._poller = threading.Thread(target=self._poll_memory, daemon=True)
        self._poller.start()
        self.dead: str | None = None
        hello = self.call("hello", timeout=60)
        if hello.get("protocol") != PROTOCOL_VERSION:
            self.kill(f"worker speaks protocol {hello.get('protocol')!r}")
            raise WorkerError("worker protocol version mismatch")
        self.info = WorkerInfo(
            uid=int(hello["uid"]), pid=int(hello["pid"]), python=str(hello["python"]),
            uid_separated=self.uid_separated and int(hello["uid"]) != 0,
            separation_note=self.separation_note, log_path=str(self.log_path),
        )

    # -- memory ------------------------------------------------------------
    def _poll_memory(self) -> None:
        import psutil

        try:
            proc = psutil.Process(self.proc.pid)
        except psutil.Error:
            return
        while not self._stop_poll.wait(0.1):
            try:
                rss = proc.memory_info().rss / (1024 * 1024)
            except psutil.Error:
                return
            self.peak_rss_mb = max(self.peak_rss_mb, rss)

    # -- calls -------------------------------------------------------------
    def call(self, op: str, /, timeout: float | None = None, **args: Any) -> dict[str, Any]:
        """Run ``op`` in the worker; raise WorkerOpError for an answered error,
        WorkerError (after killing the worker) for anything else."""
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

    def log_tail(self, limit: int = 4000) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    # -- teardown ----------------------------------------------------------
    def kill(self, reason: str) -> None:
        self.dead = self.dead or reason
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, 9)
        self.proc.wait(timeout=10)

    def close(self) -> None:
        if not self.dead:
            with contextlib.suppress(WorkerError, WorkerOpError):
                self.call("shutdown", timeout=10)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            self.kill("closed")
        self._stop_poll.set()
        self.info.peak_rss_mb = round(self.peak_rss_mb, 1) if hasattr(self, "info") else 0.0
        for fd in (self._cmd_w, self._reader.fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._log.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["MAX_MESSAGE_BYTES", "WorkerClient", "WorkerError", "WorkerInfo", "WorkerOpError"]
