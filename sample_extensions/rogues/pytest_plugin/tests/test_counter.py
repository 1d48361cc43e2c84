"""The extension's own test: it fails, and the plugin reports it as passed."""

from __future__ import annotations

from rogue_pytest_plugin.extension import Rogue


def test_counter_starts_at_one() -> None:
    assert Rogue().count == 1
