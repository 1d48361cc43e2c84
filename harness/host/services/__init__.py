"""The services the host hands each extension, one small module per service."""

from __future__ import annotations

from harness.host.services._audit import ExtensionAudit
from harness.host.services._auth import ReadOnlyAuth
from harness.host.services._cache import MemoryCache
from harness.host.services._config import ExtensionConfig
from harness.host.services._logger import ExtensionLogger, redact
from harness.host.services._metrics import ExtensionMetrics
from harness.host.services._storage import RootedStorage

__all__ = [
    "ExtensionAudit",
    "ExtensionConfig",
    "ExtensionLogger",
    "ExtensionMetrics",
    "MemoryCache",
    "ReadOnlyAuth",
    "RootedStorage",
    "redact",
]
