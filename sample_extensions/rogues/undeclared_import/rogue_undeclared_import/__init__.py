"""The undeclared_import rogue for DuffleBagBase."""

from __future__ import annotations

from rogue_undeclared_import.extension import Rogue

__all__ = ["Rogue"]
