"""System tools the harness runs (``gpg``, ``bwrap``): found, installed where it can, or named.

A fresh machine may lack them. Run as root on a Debian-like system, the harness
installs a missing one with ``apt-get`` (what an author running the README's first
command expects); anywhere else it says the one command that installs it, and the
caller turns that into a clear error.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

__all__ = ["TOOLS", "SystemTool", "ensure_tool", "install_command"]


@dataclass(frozen=True)
class SystemTool:
    """A program the harness needs and the Debian package that provides it."""

    binary: str
    package: str


TOOLS = {"gpg": SystemTool("gpg", "gnupg"), "bwrap": SystemTool("bwrap", "bubblewrap")}

#: apt-get may wait on the dpkg lock or a slow mirror; it never runs unbounded.
_APT_TIMEOUT_S = 600


def install_command(tool: SystemTool) -> str:
    """The one command that installs ``tool`` on this machine, as the user would type it."""
    prefix = "" if os.geteuid() == 0 else "sudo "
    return f"{prefix}apt-get install -y {tool.package}"


def ensure_tool(name: str, *, install: bool = True) -> str | None:
    """The path of tool ``name``; if it is missing and we are root with apt-get, install
    it first. ``None`` when it is still missing (the caller names :func:`install_command`).
    """
    tool = TOOLS[name]
    found = shutil.which(tool.binary)
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "install", "-y", "-qq", tool.package],
                 ["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", tool.package]):
        try:
            subprocess.run(step, env=env, capture_output=True, timeout=_APT_TIMEOUT_S,
                           check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        found = shutil.which(tool.binary)
        if found:
            return found
    return None
