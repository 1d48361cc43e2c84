"""Fixtures for the sandbox tests: a usable sandbox (or a clear skip), a work folder.

The tests run a small Python script *inside* the sandbox and assert on what it
prints, so each property is proven from the sandboxed side. They are skipped only
when bubblewrap is not installed at all, and fail instead when
``DUFFLEBAG_REQUIRE_SANDBOX=1``; an installed but broken bwrap is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dufflebag_harness.outside.sandbox import BWRAP, SandboxStatus, detect_sandbox

REQUIRE_ENV = "DUFFLEBAG_REQUIRE_SANDBOX"


@pytest.fixture(scope="session")
def sandbox_status() -> SandboxStatus:
    status = detect_sandbox(BWRAP)
    if status.usable:
        return status
    message = f"no usable sandbox: {status.reason} (fix: {status.fix})"
    if "not installed" in status.reason and os.environ.get(REQUIRE_ENV) != "1":
        pytest.skip(message)
    pytest.fail(message)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A read-write folder for the sandbox (the worker's private work folder)."""
    folder = tmp_path / "work"
    folder.mkdir()
    return folder
