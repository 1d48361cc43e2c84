"""Shared test helpers for the converter checks."""

from __future__ import annotations

import pytest


@pytest.fixture
def kilometre() -> float:
    return 1000.0
