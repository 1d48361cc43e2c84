"""The official ``webhooks`` extension for DuffleBagBase: signed callbacks on events."""

from __future__ import annotations

from webhooks._signing import SIGNATURE_HEADER, sign, verify
from webhooks.extension import Webhooks

__all__ = ["SIGNATURE_HEADER", "Webhooks", "sign", "verify"]
