"""Start a command in the sandbox: the Popen the worker client wraps."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from dufflebag_harness.outside.sandbox._bwrap import BWRAP, _File, spawn
from dufflebag_harness.outside.sandbox._detect import SandboxStatus, detect_sandbox
from dufflebag_harness.outside.sandbox._spec import SandboxSpec


def start(spec: SandboxSpec, argv: Sequence[str], *, pass_fds: Sequence[int] = (),
          stdin: _File = None, stdout: _File = None, stderr: _File = None,
          start_new_session: bool = False,
          status: SandboxStatus | None = None) -> subprocess.Popen[bytes]:
    """``subprocess.Popen(argv, ...)``, but inside the sandbox ``spec`` describes.

    ``argv``, ``pass_fds`` and the std streams mean what they mean to Popen; the
    environment and cwd come from ``spec`` (nothing of the caller's leaks in). The
    returned process is bwrap: its exit status is the command's, and killing it kills
    every process inside. Raises :class:`SandboxUnavailable` when ``status`` (default:
    :func:`detect_sandbox` for ``/usr/bin/bwrap``) says there is no working sandbox,
    and :class:`SandboxSpecError` for a spec the sandbox refuses.
    """
    status = (status or detect_sandbox(BWRAP)).require()
    return spawn(status.tool, spec, argv, pass_fds=pass_fds, stdin=stdin, stdout=stdout,
                 stderr=stderr, start_new_session=start_new_session)
