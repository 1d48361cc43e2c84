"""The vulnerable_dep rogue for DuffleBagBase."""

from __future__ import annotations

from rogue_vulnerable_dep.extension import Rogue

__all__ = ["Rogue"]
