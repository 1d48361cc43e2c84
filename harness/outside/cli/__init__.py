"""``dufflebag-cert``: certify, sign, verify, checks, keys, new.

Exit codes are a contract: CI gates rely on them.
"""

from __future__ import annotations

from dufflebag_harness.outside.cli._main import cli, main

__all__ = ["cli", "main"]
