"""Worker protocol v0: newline-delimited JSON on dedicated pipes.

Shared by both sides. The parent validates every reply against
``protocol.schema.json`` and treats anything else as a crash (fail closed).
Never pickle: the worker runs extension code and is not trusted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from importlib import resources
from typing import Any

PROTOCOL_VERSION = 0
MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB per message, either direction


class ProtocolError(Exception):
    """A message was too large, not JSON, or not of the protocol's shape."""


def encode(message: Mapping[str, Any]) -> bytes:
    data = json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    if len(data) + 1 > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return data + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_MESSAGE_BYTES:
        raise ProtocolError(f"message of {len(line)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        value = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ProtocolError("a message must be a JSON object")
    return value


class LineReader:
    """Reads capped lines from a raw fd (no buffering surprises with select)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buf = bytearray()

    def pending_line(self) -> bytes | None:
        idx = self._buf.find(b"\n")
        if idx < 0:
            if len(self._buf) > MAX_MESSAGE_BYTES:
                raise ProtocolError("message exceeds the size cap")
            return None
        line = bytes(self._buf[:idx])
        del self._buf[: idx + 1]
        return line

    def feed(self) -> bool:
        """Read what is available; False at end of stream."""
        chunk = os.read(self.fd, 65536)
        if not chunk:
            return False
        self._buf += chunk
        return True

    def read_line(self) -> bytes | None:
        """Blocking read of one line; None at end of stream."""
        while True:
            line = self.pending_line()
            if line is not None:
                return line
            if not self.feed():
                return None


def reply_schema() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("protocol.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
