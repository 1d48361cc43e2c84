"""Nothing started inside outlives the sandbox: not even a double-forked daemon."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from dufflebag_harness.outside.sandbox import SandboxSpec, SandboxStatus, start

from ._helpers import BASE_ENV, host_pids_with

#: Start a classic daemon (fork, setsid, fork; the middle process exits), wait until
#: it runs, say so, then wait for the parent's word on stdin and exit.
DAEMONIZE = r'''
import os, sys, time
marker = sys.argv[1]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-I", "-c", "import time; time.sleep(600)",
                                  marker])
    os._exit(0)
os.wait()
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    found = False
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and marker in open("/proc/%s/cmdline" % pid).read():
                found = True
        except OSError:
            pass
    if found:
        break
    time.sleep(0.05)
print("ready" if found else "no daemon", flush=True)
sys.stdin.readline()
'''


def _gone(marker: str, within_s: float = 30.0) -> list[int]:
    """The marker's host pids still alive after waiting up to ``within_s`` for them to go."""
    deadline = time.monotonic() + within_s
    while (left := host_pids_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("ending", ["command exits", "parent kills bwrap"])
def test_a_daemon_started_inside_dies_with_the_sandbox(
        ending: str, sandbox_status: SandboxStatus) -> None:
    marker = f"dufflebag-sandbox-daemon-{uuid.uuid4().hex}"
    proc = start(SandboxSpec(env=BASE_ENV), [sys.executable, "-I", "-c", DAEMONIZE, marker],
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        line = proc.stdout.readline().decode().strip()
        assert line == "ready", (line, proc.stderr.read().decode() if proc.stderr else "")
        # the parent sees the daemon while the sandbox lives: the check below can fail
        daemons = host_pids_with(marker)
        assert daemons, "the daemon is not visible from the parent"
        if ending == "command exits":
            proc.stdin.write(b"\n")
            proc.stdin.flush()
            assert proc.wait(timeout=60) == 0
        else:
            proc.kill()
            proc.wait(timeout=60)
        assert _gone(marker) == []
    finally:
        proc.kill()
        proc.wait()
