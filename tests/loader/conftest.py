"""Fixtures of the loader tests: an extension folder built on demand."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._build import FULL_MANIFEST, MakeExt


@pytest.fixture
def make_ext(tmp_path: Path) -> MakeExt:
    """``make_ext(toml, folder="ext")``: an extension folder with package ``analytics``."""

    def make(toml: str = FULL_MANIFEST, folder: str = "ext") -> Path:
        root = tmp_path / folder
        (root / "analytics").mkdir(parents=True)
        (root / "analytics" / "__init__.py").write_text("")
        (root / "analytics" / "extension.py").write_text("class Analytics: ...\n")
        (root / "tests").mkdir()
        (root / "tests" / "test_analytics.py").write_text("def test_x(): pass\n")
        (root / "extension.toml").write_text(toml)
        return root

    return make
