"""``discover``: installed extensions found from metadata, never loaded."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from dufflebag_harness.outside.loader import Discovered, discover

from ._build import MINIMAL_MANIFEST


def _install(site: Path, dist: str, package: str, entry_points: str, manifest: bool) -> Path:
    """Write an installed distribution (``.dist-info`` + package) into ``site``."""
    info = site / f"{dist}-1.0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    pkg = site / package
    pkg.mkdir()
    # Importing the package would be visible: it refuses to be imported at all.
    (pkg / "__init__.py").write_text("raise RuntimeError('extension code ran during discovery')\n")
    (pkg / "extension.py").write_text("")
    record = [f"{package}/__init__.py,,", f"{package}/extension.py,,"]
    if manifest:
        (info / "extension.toml").write_text(MINIMAL_MANIFEST)
        record.append(f"{info.name}/extension.toml,,")
    (info / "RECORD").write_text("\n".join([*record, f"{info.name}/RECORD,,", ""]))
    return info


def test_discovers_entry_points_and_shipped_manifests_without_importing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = _install(
        tmp_path,
        "zz_fake_analytics",
        "zz_fake_analytics",
        "[dufflebag.extensions]\nzz_fake = zz_fake_analytics.extension:Analytics\n",
        manifest=True,
    )
    _install(
        tmp_path,
        "zz_fake_bare",
        "zz_fake_bare",
        "[dufflebag.extensions]\nzz_bare = zz_fake_bare.extension:Bare\n"
        "[console_scripts]\nzz-bare = zz_fake_bare:main\n",
        manifest=False,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = [d for d in discover() if d.name.startswith("zz_")]
    assert found == [
        Discovered("zz_bare", "zz_fake_bare.extension:Bare", None, "zz_fake_bare"),
        Discovered(
            "zz_fake",
            "zz_fake_analytics.extension:Analytics",
            info / "extension.toml",
            "zz_fake_analytics",
        ),
    ]
    assert "zz_fake_analytics" not in sys.modules and "zz_fake_bare" not in sys.modules


def test_other_entry_point_groups_are_not_extensions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        tmp_path,
        "zz_fake_plugin",
        "zz_fake_plugin",
        "[pytest11]\nzz_plugin = zz_fake_plugin.extension\n",
        manifest=True,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not [d for d in discover() if d.name.startswith("zz_")]
