"""Audit service: appends to the host's audit trail, stamped with the extension."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from dufflebag_harness.inside.host._options import AuditEntry

__all__ = ["ExtensionAudit"]


class ExtensionAudit:
    """Implements :class:`dufflebag_harness.sdk.AuditService` for one extension."""

    def __init__(self, extension: str, sink: Callable[[AuditEntry], None]) -> None:
        self._extension = extension
        self._sink = sink

    def record(self, user_id: int | None, action: str, metadata: Mapping[str, Any]) -> None:
        if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
            raise TypeError(f"audit user_id must be an int or None, got {user_id!r}")
        if not isinstance(action, str) or not action:
            raise ValueError("audit action must be a non-empty string")
        if not isinstance(metadata, Mapping):
            raise TypeError(f"audit metadata must be a mapping, got {type(metadata).__name__}")
        self._sink(
            AuditEntry(
                user_id=user_id,
                action=action,
                metadata=dict(metadata),
                extension=self._extension,
                at=datetime.now(UTC),
            )
        )
