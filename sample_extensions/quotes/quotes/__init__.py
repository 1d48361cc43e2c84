"""The quotes extension for DuffleBagBase."""

from __future__ import annotations

from quotes.extension import Quotes

__all__ = ["Quotes"]
