"""``dufflebag-cert``: certify, verify, checks, keys.

Exit codes are a contract (DESIGN.md "Names and codes"): CI gates rely on them.
"""

from __future__ import annotations

from harness.cli._main import cli, main

__all__ = ["cli", "main"]
