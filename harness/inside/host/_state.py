"""Shared state of one host: records, users, metrics, audit, the live route table.

The route table is an immutable snapshot; :meth:`HostState.rebuild` makes a new
one under a lock and swaps the reference in one assignment, so a request
always sees a consistent table and ``enable``/``disable`` may come from any
thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from dufflebag_harness.inside.db import DatabaseProvider
from dufflebag_harness.inside.host._auth import Authorizer
from dufflebag_harness.inside.host._deadlines import Deadlines
from dufflebag_harness.inside.host._hooks import HookRunner
from dufflebag_harness.inside.host._metrics import HostMetrics
from dufflebag_harness.inside.host._options import AuditEntry, ExtensionState, HostOptions, SeedUser
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.inside.host._table import RouteTable, build_table
from dufflebag_harness.inside.host._userstore import UserStore
from dufflebag_harness.sdk import HookContext, HookType, RouteSpec

__all__ = ["HostState"]

log = logging.getLogger("dufflebag.host")


class HostState:
    """Everything the host's parts share; the :class:`~dufflebag_harness.inside.host.Host`
    facade owns it."""

    def __init__(
        self,
        options: HostOptions,
        database: DatabaseProvider,
        seeds: Sequence[SeedUser],
        storage_root: Path,
    ) -> None:
        self.options = options
        self.database = database
        self.seeds = tuple(seeds)
        self.storage_root = storage_root
        self.store = UserStore(database.core_engine())
        self.authz = Authorizer(self.store, options.role_permissions)
        self.metrics = HostMetrics(options.latency_samples)
        self.records: dict[str, ExtensionRecord] = {}
        self.load_errors: dict[str, str] = {}
        self.audit_log: list[AuditEntry] = []
        self.lock = threading.RLock()
        self.core_routes: tuple[RouteSpec, ...] = ()
        self.deadlines = Deadlines()
        self.hooks = HookRunner(
            timeout_s=options.hook_timeout_s,
            on_failure=self.record_failure,
            deadlines=self.deadlines,
        )
        self.core_limiter = anyio.CapacityLimiter(options.sync_pool_size)
        self.table: RouteTable = RouteTable.empty()
        self.running = False

    # -- audit -------------------------------------------------------------
    def audit(
        self,
        user_id: int | None,
        action: str,
        metadata: Mapping[str, Any],
        extension: str | None = None,
    ) -> None:
        entry = AuditEntry(user_id, action, dict(metadata), extension, datetime.now(UTC))
        self.append_audit(entry)

    def append_audit(self, entry: AuditEntry) -> None:
        with self.lock:
            self.audit_log.append(entry)
            excess = len(self.audit_log) - self.options.audit_max_entries
            if excess > 0:
                del self.audit_log[:excess]

    # -- states ------------------------------------------------------------
    def is_active(self, name: str) -> bool:
        record = self.records.get(name)
        return record is not None and record.state is ExtensionState.ACTIVE

    def record_failure(self, name: str, reason: str) -> None:
        """Count a failure against ``name``; auto-disable it past the threshold."""
        record = self.records.get(name)
        if record is None:
            return
        self.metrics.for_extension(name).failure()
        with self.lock:
            reached = record.failures.record()
            if reached and record.state is ExtensionState.ACTIVE:
                record.state = ExtensionState.AUTO_DISABLED
                record.disabled_reason = (
                    f"{record.failures.recent} failures within "
                    f"{self.options.failure_window_s}s (last: {reason})"
                )
                log.warning(
                    "extension %r auto-disabled: %s",
                    name,
                    record.disabled_reason,
                    extra={"extension": name},
                )
                self.audit(None, "extension.auto_disable", {"reason": reason}, extension=name)
                self.rebuild()

    def rebuild(self) -> None:
        """Build a new route table from the records and swap it in atomically."""
        with self.lock:
            self.table = build_table(self)

    # -- hooks ---------------------------------------------------------------
    async def fire(self, kind: HookType, ctx: HookContext, path: str) -> HookContext:
        """Fire every hook of ``kind`` matching ``path`` (for callers outside a route's plan)."""
        entries = self.table.hooks.select(kind, path)
        if entries:
            await self.hooks.fire(entries, ctx, path)
        return ctx
