"""Installed extensions, found through the ``dufflebag.extensions`` entry-point group.

Discovery reads distribution metadata only: ``ep.value`` says where the class
is, the distribution's file list says where its ``extension.toml`` is. No
entry point is loaded, so nothing of the extension runs in this process.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import Distribution, PackagePath, entry_points
from pathlib import Path

from dufflebag_harness.outside.loader.manifest import MANIFEST_NAME

__all__ = ["ENTRY_POINT_GROUP", "Discovered", "discover"]

ENTRY_POINT_GROUP = "dufflebag.extensions"


@dataclass(frozen=True)
class Discovered:
    """One advertised extension: entry-point ``name``, its ``entry_point`` (``pkg.mod:Class``).

    ``manifest_path`` is the shipped ``extension.toml`` (None when the
    distribution does not list one); ``distribution`` names the installed
    distribution that advertises it.
    """

    name: str
    entry_point: str
    manifest_path: Path | None
    distribution: str | None = None


def discover() -> list[Discovered]:
    """Every extension advertised by an installed distribution, sorted by name."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        manifest = _shipped_manifest(dist, ep.module.split(".", 1)[0]) if dist else None
        found.append(Discovered(ep.name, ep.value, manifest, dist.name if dist else None))
    return sorted(found, key=lambda d: (d.name, d.distribution or ""))


def _shipped_manifest(dist: Distribution, package: str) -> Path | None:
    """The distribution's ``extension.toml``: in its ``.dist-info``, its package, or its top."""

    def rank(file: PackagePath) -> int:
        parts = file.parts
        if len(parts) == 2 and parts[0].endswith(".dist-info"):
            return 0
        if len(parts) == 2 and parts[0] == package:
            return 1
        return 2 if len(parts) == 1 else 3

    candidates = sorted((f for f in dist.files or () if f.name == MANIFEST_NAME), key=rank)
    for file in candidates:
        path = Path(str(dist.locate_file(file)))
        if path.is_file():
            return path
    return None
