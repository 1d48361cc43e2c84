"""Evidence hygiene: redact secret-looking values and cap the size.

Evidence is produced while judging an extension and often quotes what the
extension returned, so it is untrusted and unbounded. Before it is signed or
shown, values under secret-looking keys (token, password, secret,
authorization, ...), bearer tokens and URL passwords are replaced, anything that
is not plain JSON becomes its ``repr``, and the whole is capped, so a report
cannot leak a credential or be inflated by a chatty extension.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["EVIDENCE_LIMIT", "REDACTED", "clean_evidence", "evidence_text", "redact"]

#: Bytes of pretty-printed JSON kept per result.
EVIDENCE_LIMIT = 4096
REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)|^pass$|secret|token|authori[sz]ation|api[-_]?key|private[-_]?key"
    r"|cookie|credential|session[-_]?id",
    re.IGNORECASE,
)
_BEARER = re.compile(r"\b(bearer|basic|token)\s{1,16}[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
# Quantifiers are bounded: evidence is hostile and may be a megabyte of one character.
_URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,30}://[^:/@\s]{0,256}:)[^@\s]{1,256}@")
_MAX_DEPTH = 20


def _redact_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def redact(value: Any, *, _depth: int = 0) -> Any:
    """A JSON-safe copy of ``value`` with secret-looking values replaced."""
    if _depth > _MAX_DEPTH:
        return "[too deep]"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = key if isinstance(key, str) else repr(key)
            if _SECRET_KEY.search(name) and item not in (None, "", [], {}):
                out[name] = REDACTED
            else:
                out[name] = redact(item, _depth=_depth + 1)
        return out
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [redact(item, _depth=_depth + 1) for item in items]
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, bool | int) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, bytes):
        return _redact_text(value.decode("utf-8", "replace"))
    return _redact_text(repr(value))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def clean_evidence(evidence: Mapping[str, Any], limit: int = EVIDENCE_LIMIT) -> dict[str, Any]:
    """Redacted evidence; if its JSON exceeds ``limit`` bytes, a marked preview instead."""
    safe: dict[str, Any] = redact(evidence)
    text = _pretty(safe)
    size = len(text.encode("utf-8"))
    if size <= limit:
        return safe
    preview = text.encode("utf-8")[: max(limit - 256, 0)].decode("utf-8", "ignore")
    return {"truncated": True, "original_bytes": size, "preview": preview}


def evidence_text(evidence: Mapping[str, Any], limit: int = EVIDENCE_LIMIT) -> str:
    """Pretty JSON for display, redacted and cut at ``limit`` bytes with a visible marker."""
    text = _pretty(redact(evidence))
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    kept = raw[:limit].decode("utf-8", "ignore")
    return f"{kept}\n… [truncated: {len(raw)} bytes in all]"
