"""The pin_clash rogue for DuffleBagBase."""

from __future__ import annotations

from rogue_pin_clash.extension import Rogue

__all__ = ["Rogue"]
