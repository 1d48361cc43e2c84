"""The sandbox works without root: bwrap started by uid 65534 (``nobody``).

The test process is root here; it runs a small program as ``nobody`` that imports
the installed harness (a world-readable virtualenv) and starts a sandbox itself.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest

from dufflebag_harness.outside.sandbox import SANDBOX_UID, SandboxStatus

AS_NOBODY = r'''
import errno, json, os, shutil, socket, subprocess, sys, tempfile
from dufflebag_harness.outside.sandbox import SandboxSpec, detect_sandbox, start
status = detect_sandbox()
work = tempfile.mkdtemp(prefix="dufflebag-sandbox-nobody-")
inner = (
    "import errno, json, os, socket\n"
    "s = socket.socket(); s.settimeout(5)\n"
    "try:\n    s.connect(('1.1.1.1', 80)); net = 'connected'\n"
    "except OSError as exc:\n    net = exc.errno\n"
    "open(os.path.join(os.getcwd(), 'made-inside'), 'w').write('x')\n"
    "print(json.dumps({'uid': os.getuid(), 'net': net, 'root': os.path.exists('/root')}))\n")
try:
    proc = start(SandboxSpec(env={"PATH": "/usr/bin:/bin"}, cwd=work, rw_binds=(work,)),
                 [sys.executable, "-I", "-c", inner], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=120)
    made = os.path.join(work, "made-inside")
    owner = os.stat(made).st_uid if os.path.exists(made) else None
finally:
    shutil.rmtree(work, ignore_errors=True)
print(json.dumps({"outer_uid": os.getuid(), "usable": status.usable, "reason": status.reason,
                  "rc": proc.returncode, "inner": out.decode(), "err": err.decode()[-2000:],
                  "owner": owner}))
'''


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="the suite does not run as root: it already runs unprivileged")
def test_an_unprivileged_user_gets_the_same_sandbox(sandbox_status: SandboxStatus) -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-c", AS_NOBODY], user=SANDBOX_UID, group=SANDBOX_UID,
        extra_groups=[], cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["outer_uid"] == SANDBOX_UID
    assert report["usable"], report["reason"]
    assert report["rc"] == 0, report["err"]
    assert json.loads(report["inner"]) == {"uid": SANDBOX_UID, "net": errno.ENETUNREACH,
                                           "root": False}
    # on the host the sandbox's file belongs to the unprivileged caller, not to root
    assert report["owner"] == SANDBOX_UID
