"""Page-view analytics for DuffleBagBase: tracking middleware, roll-ups, dashboard API."""

from __future__ import annotations

from analytics.extension import Analytics

__all__ = ["Analytics"]
