"""Plain data the host is configured with and reports: options, seed users, states.

Kept apart from the host so the worker and the pytest plugin can build them
without importing the ASGI machinery.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["AuditEntry", "ExtensionState", "HostOptions", "SeedUser"]


class ExtensionState(enum.StrEnum):
    """Where an extension stands. Only ``active`` ones serve routes, middleware, hooks."""

    REGISTERED = "registered"  # added, host not started yet
    ACTIVE = "active"
    DISABLED = "disabled"  # by an administrator
    FAILED = "failed"  # refused at load; see ``Host.load_errors``
    AUTO_DISABLED = "auto_disabled"  # too many failures in the window


@dataclass(frozen=True)
class HostOptions:
    """Host-wide limits and behaviour; per-extension quotas may only tighten them.

    Every duration is in seconds. A ``failure_threshold`` of 0 turns auto-disable off.
    ``role_permissions`` maps a role to the permission names it grants (on top of
    ``admin``, which holds every defined permission).
    """

    failure_threshold: int = 5
    failure_window_s: float = 60.0
    request_timeout_s: float = 10.0
    lifecycle_timeout_s: float = 10.0
    hook_timeout_s: float = 5.0
    sync_pool_size: int = 8
    max_upload_bytes: int = 10 * 1024 * 1024
    max_json_bytes: int = 64 * 1024
    allow_signup: bool = True
    cache_max_entries: int = 10_000
    audit_max_entries: int = 100_000
    latency_samples: int = 2048
    role_permissions: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = (
            "failure_window_s",
            "request_timeout_s",
            "lifecycle_timeout_s",
            "hook_timeout_s",
            "sync_pool_size",
            "max_upload_bytes",
            "max_json_bytes",
            "cache_max_entries",
            "audit_max_entries",
            "latency_samples",
        )
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"HostOptions.{name}: must be a positive number, got {value!r}")
        if not isinstance(self.failure_threshold, int) or self.failure_threshold < 0:
            raise ValueError(
                f"HostOptions.failure_threshold: must be an integer >= 0, "
                f"got {self.failure_threshold!r}"
            )


@dataclass(frozen=True)
class SeedUser:
    """A user the host creates at start, with a ready bearer token.

    ``password`` is optional: without one the user can only use its token.
    """

    id: int
    username: str
    roles: frozenset[str]
    token: str
    email: str = ""
    password: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, int) or isinstance(self.id, bool) or self.id <= 0:
            raise ValueError(f"SeedUser.id: must be a positive integer, got {self.id!r}")
        if not isinstance(self.username, str) or not self.username:
            raise ValueError(f"SeedUser(id={self.id}).username: must be a non-empty string")
        if not isinstance(self.token, str) or len(self.token) < 8:
            raise ValueError(f"SeedUser({self.username!r}).token: must be at least 8 characters")
        if isinstance(self.roles, str) or not all(isinstance(r, str) for r in self.roles):
            raise ValueError(f"SeedUser({self.username!r}).roles: must be a set of role names")


@dataclass(frozen=True)
class AuditEntry:
    """One audit-trail record: who did what; ``extension`` is ``None`` for the core."""

    user_id: int | None
    action: str
    metadata: Mapping[str, Any]
    extension: str | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "action": self.action,
            "metadata": dict(self.metadata),
            "extension": self.extension,
            "at": self.at.isoformat(),
        }
