"""Is there a working sandbox on this machine? Decided by running one.

Looking for the binary is not enough: Ubuntu 23.10+ (and Debian 13 with AppArmor)
ship bwrap but forbid the unprivileged user namespace it needs, some containers
forbid namespaces outright, and an old bwrap lacks options we rely on. So the probe
starts the very sandbox :func:`start` would start (same options, ``/usr/bin/true``
as the command) and turns a failure into a plain-language reason and a one-line fix.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dufflebag_harness.outside.sandbox._bwrap import BWRAP, ENV, PRLIMIT, spawn
from dufflebag_harness.outside.sandbox._spec import MIN_MEMORY_MB, SandboxSpec

_APPARMOR_SYSCTL = Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
_USERNS_CLONE_SYSCTL = Path("/proc/sys/kernel/unprivileged_userns_clone")
_MAX_USERNS_SYSCTL = Path("/proc/sys/user/max_user_namespaces")


class SandboxUnavailable(RuntimeError):
    """No working sandbox here: ``reason`` says why in plain words, ``fix`` how to get one."""

    def __init__(self, reason: str, fix: str) -> None:
        super().__init__(f"{reason} (fix: {fix})")
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class SandboxStatus:
    """The outcome of :func:`detect_sandbox`; ``reason``/``fix`` are empty when usable."""

    usable: bool
    tool: str
    version: str
    reason: str = ""
    fix: str = ""

    def require(self) -> SandboxStatus:
        """This status, or :class:`SandboxUnavailable` when the sandbox is not usable."""
        if not self.usable:
            raise SandboxUnavailable(self.reason, self.fix)
        return self


def _admin(command: str) -> str:
    return command if os.geteuid() == 0 else f"sudo {command}"


def _sysctl(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _diagnose(tool: str, returncode: int, stderr: str) -> tuple[str, str]:
    """(reason, fix) for a probe that failed with ``stderr``."""
    last = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {returncode}"
    if "setting up uid map" in stderr and "Permission denied" in stderr:
        restricted = _sysctl(_APPARMOR_SYSCTL) == "1"
        why = " (kernel.apparmor_restrict_unprivileged_userns is 1)" if restricted else ""
        return (f"AppArmor forbids bwrap's user namespace{why}: {last}",
                _admin("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0") +
                f", or install an AppArmor profile for {tool} that allows userns")
    if re.search(r"(No permissions to creat\w* new namespace|Creating new namespace failed"
                 r"|unshare.*(Operation not permitted|No space left))", stderr):
        if _sysctl(_USERNS_CLONE_SYSCTL) == "0":
            fix = _admin("sysctl -w kernel.unprivileged_userns_clone=1")
        elif _sysctl(_MAX_USERNS_SYSCTL) == "0":
            fix = _admin("sysctl -w user.max_user_namespaces=15000")
        else:
            fix = ("allow user namespaces (sysctl user.max_user_namespaces, "
                   "kernel.unprivileged_userns_clone; in a container: a seccomp profile "
                   "that permits unshare/clone of namespaces)")
        return f"user namespaces are not allowed here: {last}", fix
    if "Unknown option" in stderr or "Unknown action" in stderr:
        return (f"{tool} is too old for the sandbox's options: {last}",
                _admin("apt-get install bubblewrap") + " (0.8.0 or newer)")
    return (f"the probe sandbox failed (exit {returncode}): {last}",
            f"run `{tool} --unshare-all --unshare-user --ro-bind /usr /usr /usr/bin/true` "
            "by hand to see why")


def _version(tool: str, timeout_s: float) -> str:
    done = subprocess.run([tool, "--version"], capture_output=True, text=True,
                          timeout=timeout_s, check=False, env={})
    match = re.search(r"(\d+(?:\.\d+)+)", done.stdout)
    return match.group(1) if done.returncode == 0 and match else ""


@functools.lru_cache(maxsize=8)
def detect_sandbox(tool: str = BWRAP, *, timeout_s: float = 5.0) -> SandboxStatus:
    """Whether a working bubblewrap sandbox exists here (cached per tool path).

    ``tool`` is injectable so tests (and unusual installs) can point elsewhere.
    """
    missing_fix = _admin("apt-get install bubblewrap")
    if not os.access(tool, os.X_OK):
        return SandboxStatus(False, tool, "", f"bubblewrap is not installed ({tool} not found)",
                             missing_fix)
    try:
        version = _version(tool, timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        return SandboxStatus(False, tool, "", f"{tool} --version failed: {exc}", missing_fix)
    for helper in (PRLIMIT, ENV):
        if not os.access(helper, os.X_OK):
            return SandboxStatus(False, tool, version, f"{helper} is missing (it applies the "
                                 "memory cap inside the sandbox)",
                                 _admin("apt-get install util-linux coreutils"))
    spec = SandboxSpec(env={"PATH": "/usr/bin:/bin"}, python=None, memory_mb=MIN_MEMORY_MB,
                       tmpfs_mb=1)
    try:
        proc = spawn(tool, spec, ["/usr/bin/true"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    except OSError as exc:
        return SandboxStatus(False, tool, version, f"cannot start {tool}: {exc}", missing_fix)
    try:
        _, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return SandboxStatus(False, tool, version,
                             f"the probe sandbox did not finish within {timeout_s:g} s",
                             "check the machine's load, then run the probe again")
    if proc.returncode != 0:
        reason, fix = _diagnose(tool, proc.returncode, err.decode(errors="replace"))
        return SandboxStatus(False, tool, version, reason, fix)
    return SandboxStatus(True, tool, version)
