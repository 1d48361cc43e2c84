"""bwrap's command line, and the one place that starts bwrap.

The options (mounts, environment, ids) go to bwrap through ``--args FD`` from a
memfd, not on its command line: ``/proc/<pid>/cmdline`` is readable by every local
user, and the environment handed to the worker may hold database passwords. Only
the command itself stays on the visible command line. Generated files (``/etc/passwd``
& co.) are memfds too, so nothing is written to disk and nothing needs cleaning up.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import IO, Any

from dufflebag_harness.outside.sandbox._spec import (
    Mount,
    SandboxSpec,
    generated_files,
    plan_mounts,
)

BWRAP = "/usr/bin/bwrap"
PRLIMIT = "/usr/bin/prlimit"
ENV = "/usr/bin/env"

#: The namespaces the sandbox unshares (all of them: ``--unshare-all`` plus a
#: mandatory user and cgroup namespace, so a missing one fails instead of being skipped).
NAMESPACES = ("cgroup", "ipc", "mnt", "net", "pid", "user", "uts")

_File = int | IO[Any] | None


def _tmpfs_options(mount: Mount, size_bytes: int) -> list[str]:
    return ["--perms", "1777", "--size", str(size_bytes), "--tmpfs", mount.path]


def bwrap_options(spec: SandboxSpec, mounts: Sequence[Mount],
                  file_fds: Mapping[str, int]) -> list[str]:
    """bwrap's options for ``spec``; ``file_fds`` maps each generated file to its fd."""
    opts = [
        "--unshare-all", "--unshare-user", "--unshare-cgroup",
        # nested user namespaces would reopen the kernel surface the sandbox closes
        "--disable-userns",
        "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--uid", str(spec.uid), "--gid", str(spec.uid), "--hostname", "sandbox",
    ]
    tmpfs_bytes = spec.tmpfs_mb * 1024 * 1024
    for mount in mounts:
        if mount.kind == "bind":
            opts += ["--ro-bind" if mount.mode == "ro" else "--bind", mount.source, mount.path]
        elif mount.kind == "replaced":
            opts += ["--ro-bind", mount.source, mount.path]
        elif mount.kind == "symlink":
            opts += ["--symlink", mount.source, mount.path]
        elif mount.kind == "proc":
            opts += ["--proc", mount.path]
        elif mount.kind == "dev":
            opts += ["--dev", mount.path]
        elif mount.kind == "tmpfs":
            opts += _tmpfs_options(mount, tmpfs_bytes)
        elif mount.kind == "file":
            opts += ["--perms", "0444", "--ro-bind-data", str(file_fds[mount.source]), mount.path]
    # the skeleton's own tmpfs (the root, /dev) is read-only once everything is mounted:
    # only the sized /tmp and /dev/shm and the caller's rw binds take writes
    opts += ["--remount-ro", "/dev", "--remount-ro", "/"]
    opts += ["--chdir", spec.cwd, "--clearenv"]
    for key in sorted(spec.env):
        opts += ["--setenv", key, spec.env[key]]
    return opts


def command_prefix(spec: SandboxSpec) -> list[str]:
    """What runs inside before the caller's argv: the environment fix-up and the rlimit.

    bwrap always sets ``PWD``; ``env`` restores exactly the caller's environment.
    ``prlimit`` applies the memory cap (soft = hard, so the command cannot raise it;
    it has no capability to) to the command and everything it starts, but not to
    bwrap's own reaper.
    """
    limit = spec.memory_mb * 1024 * 1024
    env_fix = [ENV, f"PWD={spec.env['PWD']}"] if "PWD" in spec.env else [ENV, "-u", "PWD"]
    return [*env_fix, PRLIMIT, f"--data={limit}:{limit}", "--"]


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def _option_fds(spec: SandboxSpec, mounts: Sequence[Mount]) -> Iterator[tuple[int, list[int]]]:
    """(fd of the NUL-separated options, every fd bwrap must inherit); closed on exit."""
    with ExitStack() as stack:
        file_fds: dict[str, int] = {}
        for path, data in generated_files(spec.uid, spec.hosts).items():
            fd = _memfd("sandbox-file", data)
            stack.callback(os.close, fd)
            file_fds[path] = fd
        opts = bwrap_options(spec, mounts, file_fds)
        args_fd = _memfd("sandbox-args", b"".join(o.encode() + b"\0" for o in opts))
        stack.callback(os.close, args_fd)
        yield args_fd, [args_fd, *file_fds.values()]


def spawn(tool: str, spec: SandboxSpec, argv: Sequence[str], *, pass_fds: Sequence[int] = (),
          stdin: _File = None, stdout: _File = None, stderr: _File = None,
          start_new_session: bool = False) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a sandbox made by ``tool``, without checking that it works.

    bwrap itself gets an empty environment and ``/`` as cwd; it reads the option and
    data fds during setup and closes them before running the command, so the command
    inherits exactly ``pass_fds`` plus stdin/stdout/stderr. Our copies are closed as
    soon as Popen returns (bwrap holds its own).
    """
    if not argv:
        raise ValueError("empty argv")
    mounts = plan_mounts(spec)
    with _option_fds(spec, mounts) as (args_fd, own_fds):
        return subprocess.Popen(
            [tool, "--args", str(args_fd), "--", *command_prefix(spec), *argv],
            pass_fds=(*own_fds, *pass_fds), stdin=stdin, stdout=stdout, stderr=stderr,
            env={}, cwd="/", close_fds=True, start_new_session=start_new_session,
        )
