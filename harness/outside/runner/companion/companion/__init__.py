"""A small neighbour extension: ping, stored items, a header and two hooks on its own paths."""

from __future__ import annotations

from companion.extension import SmallExtension

__all__ = ["SmallExtension"]
