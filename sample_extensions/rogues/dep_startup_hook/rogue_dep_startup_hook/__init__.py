"""The dep_startup_hook rogue for DuffleBagBase."""

from __future__ import annotations

from rogue_dep_startup_hook.extension import Rogue

__all__ = ["Rogue"]
