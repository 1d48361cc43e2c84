"""What the host knows about one extension, from ``add`` to ``stop``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from dufflebag_harness.inside.db import ExtensionDatabase
from dufflebag_harness.inside.host._faults import FailureWindow, TokenBucket
from dufflebag_harness.inside.host._hooks import BoundHook
from dufflebag_harness.inside.host._options import ExtensionState
from dufflebag_harness.inside.host._router import ExtensionRouter
from dufflebag_harness.inside.host.services import ExtensionConfig
from dufflebag_harness.sdk import Extension, Hook, Middleware, Quotas, Services

__all__ = ["ExtensionRecord"]


@dataclass(eq=False)
class ExtensionRecord:
    """Mutable bookkeeping for one extension; the route table reads it when built."""

    name: str
    extension: Extension
    quotas: Quotas
    capabilities: frozenset[str]
    config_given: Mapping[str, Any] | None
    failures: FailureWindow
    state: ExtensionState = ExtensionState.REGISTERED
    load_error: str | None = None
    router: ExtensionRouter | None = None
    middleware: tuple[Middleware, ...] = ()
    hooks: tuple[Hook, ...] = ()
    bound_hooks: tuple[BoundHook, ...] = ()
    static: tuple[tuple[str, Path], ...] = ()
    services: Services | None = None
    database: ExtensionDatabase | None = None
    config: dict[str, Any] = field(default_factory=dict)
    config_service: ExtensionConfig | None = None
    initialized: bool = False
    started: bool = False
    bucket: TokenBucket | None = None
    sync_limiter: anyio.CapacityLimiter | None = None
    disabled_reason: str | None = None

    @property
    def version(self) -> str:
        return self.extension.metadata.version

    @property
    def serving(self) -> bool:
        return self.state is ExtensionState.ACTIVE

    def timeout_s(self, host_default: float) -> float:
        """The tighter of the host's request timeout and the extension's quota."""
        quota = self.quotas.request_timeout_s
        return min(host_default, quota) if quota and quota > 0 else host_default
