"""Permissions, capabilities and quotas an extension declares."""

from __future__ import annotations

import enum
from dataclasses import dataclass


@dataclass(frozen=True)
class Permission:
    """A permission the extension defines; checked through the auth service."""

    name: str
    resource: str
    actions: tuple[str, ...] = ("read",)


class Capability(enum.StrEnum):
    """What an extension may touch beyond its own services.

    ``database`` and ``storage`` are granted by default; the rest must be
    declared in ``extension.toml`` and are shown to the marketplace.
    """

    DATABASE = "database"
    STORAGE = "storage"
    NETWORK = "network"
    FILESYSTEM = "filesystem"
    SUBPROCESS = "subprocess"


DEFAULT_CAPABILITIES = frozenset({Capability.DATABASE, Capability.STORAGE})


@dataclass(frozen=True)
class Quotas:
    """Per-extension limits enforced by the host (``0`` means host default)."""

    memory_mb: int = 256
    concurrent_requests: int = 32
    db_connections: int = 5
    requests_per_second: int = 0
    storage_mb: int = 64
    request_timeout_s: float = 10.0
