"""Administrative operations on one extension: enable, disable, reconfigure, health.

Shared by the :class:`~dufflebag_harness.inside.host.Host` methods and the management API, so
both audit and validate alike. State changes hold the host lock and end with
an atomic route-table swap; they are safe to call from any thread.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dufflebag_harness.inside.host._config import apply_config_now, merge_defaults, validate_config
from dufflebag_harness.inside.host._lifecycle import LoadFailure, call_lifecycle
from dufflebag_harness.inside.host._options import ExtensionState
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.sdk import ConfigError, ExtensionError, Health, HealthStatus

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["UnknownExtension", "check_health", "lookup", "reconfigure", "set_enabled"]

log = logging.getLogger("dufflebag.host")


class UnknownExtension(KeyError):
    """No extension of that name was added to the host."""

    def __str__(self) -> str:
        return f"no extension named {self.args[0]!r}"


def lookup(state: HostState, name: str) -> ExtensionRecord:
    record = state.records.get(name)
    if record is None:
        raise UnknownExtension(name)
    return record


def set_enabled(state: HostState, name: str, enabled: bool, actor: int | None = None) -> None:
    """Enable (also after auto-disable) or disable ``name``; refused if it never loaded."""
    record = lookup(state, name)
    with state.lock:
        if record.state is ExtensionState.FAILED:
            raise ExtensionError(
                f"extension {name!r} failed to load and cannot be "
                f"{'enabled' if enabled else 'disabled'}: {record.load_error}"
            )
        if record.state is ExtensionState.REGISTERED:
            raise ExtensionError(f"extension {name!r} is not loaded yet; start the host first")
        previous = record.state
        if enabled:
            record.state = ExtensionState.ACTIVE
            record.disabled_reason = None
            record.failures.reset()
        else:
            record.state = ExtensionState.DISABLED
            record.disabled_reason = "disabled by an administrator"
        action = "extension.enable" if enabled else "extension.disable"
        state.audit(actor, action, {"extension": name, "previous": previous.value})
        log.info("extension %r: %s -> %s", name, previous.value, record.state.value)
        if previous is not record.state:
            state.rebuild()


def reconfigure(
    state: HostState, name: str, config: object, actor: int | None = None
) -> dict[str, Any]:
    """Validate and hot-apply a new configuration; on any error keep the old one."""
    record = lookup(state, name)
    if not isinstance(config, Mapping):
        raise ConfigError(f"configuration must be an object, got {type(config).__name__}")
    with state.lock:
        if record.config_service is None or record.state is ExtensionState.FAILED:
            raise ExtensionError(f"extension {name!r} is not loaded; cannot reconfigure it")
        ext = record.extension
        new = validate_config(ext.config_schema, merge_defaults(ext.default_config, config))
        old = record.config
        apply_config_now(ext, new)
        try:
            record.config_service.replace(new)
        except Exception as exc:
            record.config_service.restore(old)
            try:
                apply_config_now(ext, old)
            except ConfigError:
                log.exception("extension %r refused its previous configuration", name)
            raise ConfigError(f"on_change callback raised {type(exc).__name__}: {exc}") from exc
        record.config = new
        record.config_given = dict(config)
        state.audit(actor, "extension.config", {"extension": name, "keys": sorted(new)})
        return new


async def check_health(state: HostState, name: str) -> dict[str, Any]:
    """The extension's own health answer, bounded by the lifecycle timeout."""
    record = lookup(state, name)
    out: dict[str, Any] = {"name": name, "state": record.state.value}
    if not record.initialized:
        out.update(status=None, checks={}, message=record.load_error or "not running")
        return out
    try:
        status = await call_lifecycle(
            record.extension.health, what="health", timeout_s=state.options.lifecycle_timeout_s
        )
        if not isinstance(status, HealthStatus):
            raise LoadFailure(f"health returned {type(status).__name__}, not HealthStatus")
    except LoadFailure as exc:
        status = HealthStatus(Health.UNHEALTHY, message=str(exc))
    out.update(
        status=Health(status.status).value,
        checks={str(k): str(v) for k, v in status.checks.items()},
        message=status.message,
    )
    return out
