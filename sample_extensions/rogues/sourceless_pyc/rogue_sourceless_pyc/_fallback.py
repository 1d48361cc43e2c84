"""Pure-Python password scoring (used when the compiled scorer is not available)."""

from __future__ import annotations

import string

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)


def score(password: str) -> int:
    """0 (weak) .. 4 (strong): length and character variety."""
    variety = sum(any(c in cls for c in password) for cls in _CLASSES)
    return min(4, (len(password) >= 12) + (len(password) >= 16) + max(0, variety - 2))
