"""The reference host: the facade over state, loading, control and the ASGI app."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import anyio.to_thread

from dufflebag_harness.inside.db import DatabaseProvider
from dufflebag_harness.inside.host._app import HostApp
from dufflebag_harness.inside.host._control import check_health, lookup, reconfigure, set_enabled
from dufflebag_harness.inside.host._core import CoreAPI
from dufflebag_harness.inside.host._faults import FailureWindow
from dufflebag_harness.inside.host._lifecycle import LoadFailure, load_extension, stop_extension
from dufflebag_harness.inside.host._management import ManagementAPI
from dufflebag_harness.inside.host._openapi import OpenAPI
from dufflebag_harness.inside.host._options import AuditEntry, ExtensionState, HostOptions, SeedUser
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.inside.host._state import HostState
from dufflebag_harness.sdk import NAME_PATTERN, Extension, Quotas
from dufflebag_harness.shared.dependencies import plan_load

__all__ = ["Host"]

log = logging.getLogger("dufflebag.host")


def _check_quotas(name: str, quotas: Quotas) -> None:
    if not isinstance(quotas, Quotas):
        raise TypeError(f"extension {name!r}: quotas must be a dufflebag_harness.sdk.Quotas")
    for field in ("memory_mb", "concurrent_requests", "db_connections",
                  "requests_per_second", "storage_mb", "request_timeout_s"):
        value = getattr(quotas, field)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ValueError(f"extension {name!r}: quotas.{field} must be >= 0, got {value!r}")


class Host:
    """Runs extensions the way the platform does; certification and author tests use it.

    Register with :meth:`add`, then ``await start()``; serve :attr:`app` (ASGI);
    ``await stop()`` at the end. An extension that fails to load is reported in
    :attr:`load_errors` and the host serves the others.
    """

    def __init__(
        self,
        options: HostOptions | None = None,
        *,
        database: DatabaseProvider,
        users: Sequence[SeedUser] = (),
        storage_root: pathlib.Path,
    ) -> None:
        options = options if options is not None else HostOptions()
        if not isinstance(options, HostOptions):
            raise TypeError("options must be a HostOptions")
        seen: dict[str, set[Any]] = {"id": set(), "username": set(), "token": set()}
        for user in users:
            if not isinstance(user, SeedUser):
                raise TypeError(f"users must be SeedUser objects, got {user!r}")
            for field, values in seen.items():
                value = getattr(user, field)
                if value in values:
                    shown = "<hidden>" if field == "token" else repr(value)
                    raise ValueError(f"users: two seed users share the {field} {shown}")
                values.add(value)
        self._state = HostState(options, database, users, pathlib.Path(storage_root))
        self._state.core_routes = (
            *CoreAPI(self._state).routes(),
            *ManagementAPI(self._state).routes(),
            OpenAPI(self._state).route(),
        )
        self._app = HostApp(self._state)
        self._stopped = False
        self._loaded: list[str] = []  # load order; stop goes the other way

    # -- registration --------------------------------------------------------
    def add(
        self,
        ext: Extension,
        *,
        quotas: Quotas | None = None,
        capabilities: frozenset[str] = frozenset(),
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Register ``ext`` (loaded at :meth:`start`). Refuses bad names and duplicates."""
        if self._state.running:
            raise RuntimeError("add extensions before start()")
        if not isinstance(ext, Extension):
            raise TypeError(f"{ext!r} is not a dufflebag_harness.sdk.Extension")
        meta = getattr(ext, "metadata", None)
        name = getattr(meta, "name", None)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise ValueError(
                f"extension {type(ext).__name__}: metadata.name {name!r} must match "
                f"{NAME_PATTERN.pattern}"
            )
        if name in self._state.records:
            raise ValueError(f"extension {name!r} is already added to this host")
        quotas = quotas if quotas is not None else Quotas()
        _check_quotas(name, quotas)
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"extension {name!r}: config must be a mapping")
        options = self._state.options
        self._state.records[name] = ExtensionRecord(
            name=name,
            extension=ext,
            quotas=quotas,
            capabilities=frozenset(str(c.value if hasattr(c, "value") else c)
                                   for c in capabilities),
            config_given=dict(config) if config is not None else None,
            failures=FailureWindow(options.failure_threshold, options.failure_window_s),
        )

    # -- lifecycle -------------------------------------------------------------
    async def start(self) -> None:
        """Create users, resolve dependencies, load every extension, publish the routes."""
        state = self._state
        if state.running or self._stopped:
            raise RuntimeError("a host starts once")
        state.running = True
        state.storage_root.mkdir(parents=True, exist_ok=True)
        await anyio.to_thread.run_sync(state.store.setup, state.seeds)
        plan = plan_load({n: r.extension.metadata for n, r in state.records.items()})
        for name, reason in plan.refused.items():
            self._fail(state.records[name], reason)
        for name in plan.order:
            record = state.records[name]
            missing = [
                d for d in record.extension.metadata.dependencies
                if state.records[d].state is not ExtensionState.ACTIVE
            ]
            if missing:
                self._fail(record, f"depends on {missing[0]!r}, which failed to load")
                continue
            try:
                await load_extension(state, record)
            except LoadFailure as exc:
                self._fail(record, str(exc))
                continue
            record.state = ExtensionState.ACTIVE
            self._loaded.append(name)
            log.info("extension %r %s loaded", name, record.version, extra={"extension": name})
        state.rebuild()

    def _fail(self, record: ExtensionRecord, reason: str) -> None:
        record.state = ExtensionState.FAILED
        record.load_error = reason
        self._state.load_errors[record.name] = reason
        log.error("extension %r not loaded: %s", record.name, reason,
                  extra={"extension": record.name})

    async def stop(self) -> None:
        """Stop every started extension (reverse order; errors logged), then the database."""
        state = self._state
        if self._stopped:
            return
        self._stopped = True
        for name in reversed(self._loaded):
            record = state.records[name]
            await stop_extension(state, record)
            if record.database is not None:
                try:
                    await anyio.to_thread.run_sync(record.database.dispose)
                except Exception:
                    log.exception("disposing the database of %r failed", record.name)
        state.running = False
        state.table = type(state.table).empty()
        try:
            await anyio.to_thread.run_sync(state.database.close)
        except Exception:
            log.exception("closing the database provider failed")

    # -- control -----------------------------------------------------------------
    @property
    def app(self) -> HostApp:
        """The ASGI application (one object for the host's life)."""
        return self._app

    @property
    def load_errors(self) -> dict[str, str]:
        return self._state.load_errors

    @property
    def audit_log(self) -> list[AuditEntry]:
        return self._state.audit_log

    @property
    def options(self) -> HostOptions:
        return self._state.options

    def names(self) -> list[str]:
        """Names of every added extension, in the order they were added."""
        return list(self._state.records)

    def state(self, name: str) -> ExtensionState:
        return lookup(self._state, name).state

    def enable(self, name: str) -> None:
        """Serve ``name`` again (after disable or auto-disable). Thread-safe."""
        set_enabled(self._state, name, True)

    def disable(self, name: str) -> None:
        """Stop serving ``name``'s routes, middleware and hooks. Thread-safe."""
        set_enabled(self._state, name, False)

    def set_config(self, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
        """Hot-reload ``name``'s configuration; :class:`ConfigError` keeps the old one."""
        return reconfigure(self._state, name, config)

    def config(self, name: str) -> dict[str, Any]:
        return dict(lookup(self._state, name).config)

    async def health(self, name: str) -> dict[str, Any]:
        return await check_health(self._state, name)

    def extension(self, name: str) -> Extension:
        return lookup(self._state, name).extension
