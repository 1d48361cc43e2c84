"""Converter checks. Named check_* in a checks_*.py file: pytest's default
patterns (test_*.py, test_*) never collect them."""

from __future__ import annotations

from rogue_no_tests.extension import convert


def check_km_to_m(kilometre: float) -> None:
    assert convert(1, "km", "m") == kilometre


def check_inches() -> None:
    assert round(convert(12, "in", "ft"), 9) == 1.0
