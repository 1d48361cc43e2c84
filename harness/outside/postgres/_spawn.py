"""Start server processes that cannot outlive the harness.

Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) makes the
kernel kill the child when its parent dies, even by ``kill -9``. Two details
decide whether it actually works:

* The "parent" is the *thread* that forked. A cluster started from a
  short-lived thread (an anyio worker thread retires after 10 s idle) would be
  killed when that thread ends, so every spawn goes through one daemon thread
  that lives as long as the process.
* The setting is cleared when the effective uid changes and it does not pass
  through ``runuser`` (which forks), so as root the child drops to the server
  account itself and sets the signal afterwards: ``subprocess`` applies
  ``user``/``group`` before it calls ``preexec_fn``.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import IO, Any

__all__ = ["RunAs", "run_as_for_current_user", "spawn_server"]

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class RunAs:
    """The account server processes run as (None fields: the current user)."""

    uid: int | None
    gid: int | None
    name: str

    def popen_kwargs(self) -> dict[str, Any]:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def run_as_for_current_user(candidates: tuple[str, ...] = ("postgres", "nobody")) -> RunAs:
    """The server refuses to run as root: as root pick the first existing account."""
    if os.geteuid() != 0:
        return RunAs(None, None, pwd.getpwuid(os.geteuid()).pw_name)
    for name in candidates:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return RunAs(entry.pw_uid, entry.pw_gid, name)
    raise LookupError(f"running as root and none of the accounts {candidates} exists")


def _pdeathsig_preexec() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded before fork: nothing to resolve after
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the harness died between fork and prctl
            os._exit(1)

    return preexec


class _Spawner:
    """One long-lived daemon thread that performs every fork (see module doc)."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _loop(self) -> None:
        while True:
            job, future = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)

    def call(self, job: Callable[[], Any]) -> Any:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="dufflebag-pg-spawner", daemon=True
                )
                self._thread.start()
        future: Future[Any] = Future()
        self._jobs.put((job, future))
        return future.result()


_SPAWNER = _Spawner()


def spawn_server(
    argv: list[str],
    *,
    run_as: RunAs,
    cwd: str,
    env: dict[str, str],
    output: IO[bytes],
    started: list[subprocess.Popen[bytes]],
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own process group, dying with this process.

    The process is appended to ``started`` as soon as it exists, so a caller
    interrupted while waiting (Ctrl-C) can still stop it.
    """
    preexec = _pdeathsig_preexec()

    def job() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=preexec,
            **run_as.popen_kwargs(),
        )
        started.append(proc)
        return proc

    result: subprocess.Popen[bytes] = _SPAWNER.call(job)
    return result
