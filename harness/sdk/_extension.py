"""The base class every extension subclasses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from dufflebag_harness.sdk._hooks import Hook, Middleware
from dufflebag_harness.sdk._metadata import HealthStatus, Metadata
from dufflebag_harness.sdk._migrations import Migration
from dufflebag_harness.sdk._permissions import Permission
from dufflebag_harness.sdk._routing import Router
from dufflebag_harness.sdk._services import Services


class Extension:
    """A DuffleBagBase extension.

    Subclass it, set :attr:`metadata`, and override what you need. Lifecycle
    methods may be ``async def`` (preferred) or plain functions. The host calls,
    in order: :meth:`initialize` (with services, after migrations ran and the
    configuration was applied), :meth:`register_routes`, :meth:`middleware`,
    :meth:`hooks`, :meth:`start`; later :meth:`stop` (must be idempotent and
    release every thread, task, file and connection it created).
    """

    metadata: ClassVar[Metadata]
    #: JSON Schema (draft 2020-12) of this extension's configuration section.
    config_schema: ClassVar[Mapping[str, Any]] = {"type": "object"}
    #: Configuration used when the host gives none; must validate against the schema.
    default_config: ClassVar[Mapping[str, Any]] = {}
    #: Migrations for schema ``ext_{name}``, by ascending version.
    migrations: ClassVar[Sequence[Migration]] = ()
    #: Permissions this extension defines (integrated with the host's checks).
    permissions: ClassVar[Sequence[Permission]] = ()
    #: Extra roles this extension defines, beyond admin/manager/user/deleted.
    roles: ClassVar[Sequence[str]] = ()

    services: Services

    async def initialize(self, services: Services) -> None:
        """Receive services; prepare state. Raising here means "not loaded"."""
        self.services = services

    async def start(self) -> None:
        """Begin background work (if any)."""

    async def stop(self) -> None:
        """Stop background work and release resources; safe to call twice."""

    async def health(self) -> HealthStatus:
        """Report health; the default says healthy."""
        return HealthStatus()

    def register_routes(self, router: Router) -> None:
        """Add routes under ``/ext/{name}/``."""

    def middleware(self) -> Sequence[Middleware]:
        """Pure-ASGI middleware to install (path-specific or global)."""
        return ()

    def hooks(self) -> Sequence[Hook]:
        """Hooks around the host's core handlers."""
        return ()

    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Apply a validated configuration; called at load and on hot reload.

        Raise :class:`~dufflebag_harness.sdk.ConfigError` to refuse it: the host then keeps
        the previous configuration.
        """

    def static_assets(self) -> Mapping[str, str]:
        """Optional: URL sub-path → folder (inside the package) served read-only."""
        return {}
