"""Signatures receivers check: ``X-Dufflebag-Signature: sha256=<hex>``.

HMAC-SHA256 with the subscription's secret over the exact bytes of the body,
so a receiver verifies before parsing and never depends on how JSON was
re-serialized. :func:`verify` is what a receiver written in Python would do.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["SIGNATURE_HEADER", "new_secret", "sign", "verify"]

SIGNATURE_HEADER = "X-Dufflebag-Signature"
_PREFIX = "sha256="


def new_secret() -> str:
    """A fresh 256-bit secret, hex encoded (shown once, when the subscription is created)."""
    return secrets.token_hex(32)


def sign(secret: str, body: bytes) -> str:
    """The header value for ``body``: ``sha256=`` and the hex HMAC-SHA256."""
    return _PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time comparison)."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)
