"""The services the host hands each extension, one small module per service."""

from __future__ import annotations

from dufflebag_harness.inside.host.services._audit import ExtensionAudit
from dufflebag_harness.inside.host.services._auth import ReadOnlyAuth
from dufflebag_harness.inside.host.services._cache import MemoryCache
from dufflebag_harness.inside.host.services._config import ExtensionConfig
from dufflebag_harness.inside.host.services._logger import ExtensionLogger, redact
from dufflebag_harness.inside.host.services._metrics import ExtensionMetrics
from dufflebag_harness.inside.host.services._storage import RootedStorage

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
