"""Detection runs a real probe and explains a missing or blocked sandbox."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from dufflebag_harness.outside.sandbox import (
    BWRAP,
    SandboxSpec,
    SandboxStatus,
    SandboxUnavailable,
    detect_sandbox,
    start,
)

from ._helpers import BASE_ENV


def _fake_bwrap(folder: Path, stderr: str) -> str:
    """A stand-in bwrap that answers --version and fails every sandbox with ``stderr``."""
    tool = folder / "bwrap"
    tool.write_text("#!/bin/sh\n"
                    'if [ "$1" = "--version" ]; then echo "bubblewrap 0.9.0"; exit 0; fi\n'
                    f"echo '{stderr}' >&2\nexit 1\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return str(tool)


def _install_fix() -> str:
    return "apt-get install bubblewrap" if os.geteuid() == 0 else "sudo apt-get install bubblewrap"


def test_detection_finds_a_working_sandbox_here(sandbox_status: SandboxStatus) -> None:
    assert sandbox_status.usable
    assert sandbox_status.tool == BWRAP
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", sandbox_status.version)
    assert (sandbox_status.reason, sandbox_status.fix) == ("", "")
    assert detect_sandbox(BWRAP) is sandbox_status  # cached: the probe runs once


def test_a_missing_tool_gives_the_install_command() -> None:
    status = detect_sandbox("/nonexistent/bin/bwrap")
    assert not status.usable
    assert "not installed" in status.reason and "/nonexistent/bin/bwrap" in status.reason
    assert status.fix == _install_fix()
    with pytest.raises(SandboxUnavailable) as caught:
        start(SandboxSpec(env=BASE_ENV), ["/usr/bin/true"], status=status)
    assert (caught.value.reason, caught.value.fix) == (status.reason, status.fix)


def test_the_apparmor_restriction_is_named_with_its_sysctl(tmp_path: Path) -> None:
    """Ubuntu 23.10+/Debian 13: bwrap is there but may not map its user."""
    tool = _fake_bwrap(tmp_path, "bwrap: setting up uid map: Permission denied")
    status = detect_sandbox(tool)
    assert not status.usable
    assert status.version == "0.9.0"
    assert "AppArmor" in status.reason and "setting up uid map" in status.reason
    assert "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in status.fix
    assert status.fix.startswith("sysctl" if os.geteuid() == 0 else "sudo sysctl")


def test_disabled_user_namespaces_are_named(tmp_path: Path) -> None:
    tool = _fake_bwrap(tmp_path, "bwrap: No permissions to creating new namespace, likely "
                                 "because the kernel does not allow non-privileged user "
                                 "namespaces.")
    status = detect_sandbox(tool)
    assert not status.usable
    assert status.reason.startswith("user namespaces are not allowed here")
    assert "user_namespaces" in status.fix or "userns" in status.fix


def test_an_unknown_failure_still_says_what_bwrap_said(tmp_path: Path) -> None:
    tool = _fake_bwrap(tmp_path, "bwrap: something else went wrong")
    status = detect_sandbox(tool)
    assert not status.usable
    assert "something else went wrong" in status.reason
    assert status.fix.startswith("run `")
