"""Typed services the host hands an extension in ``initialize``.

Each is a :class:`typing.Protocol`: the reference host implements them with
real components, ``fixtures`` implements recording fakes with the same shape.
Every service is scoped to one extension; none can reach another's data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.engine import Engine

#: The platform's built-in roles. ``deleted`` is never admitted to protected routes.
CORE_ROLES = ("admin", "manager", "user", "deleted")


@dataclass(frozen=True)
class User:
    """A platform user as extensions see it (read-only)."""

    id: int
    username: str
    email: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_deleted(self) -> bool:
        return "deleted" in self.roles

    def has_role(self, *roles: str) -> bool:
        return not self.is_deleted and bool(self.roles.intersection(roles))


@runtime_checkable
class DatabaseService(Protocol):
    """The extension's own schema, on the host's backend (SQLite or PostgreSQL).

    ``engine`` runs every statement with the extension's schema as default;
    anything outside it is refused by the database itself. ``fetch_all`` and
    ``execute`` run in a worker thread so they do not block the event loop.
    """

    @property
    def backend(self) -> str: ...
    @property
    def schema(self) -> str: ...
    @property
    def engine(self) -> Engine: ...
    async def fetch_all(
        self, sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]: ...
    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int: ...


@runtime_checkable
class AuthService(Protocol):
    """Read-only access to users, tokens and permission decisions."""

    async def get_user(self, user_id: int) -> User | None: ...
    async def validate_token(self, token: str) -> User | None: ...
    def check_permission(self, user: User, permission: str) -> bool: ...
    def has_role(self, user: User, *roles: str) -> bool: ...


@runtime_checkable
class Logger(Protocol):
    """A logger whose records carry the extension's name (and request, if any)."""

    def debug(self, msg: str, *args: Any, **fields: Any) -> None: ...
    def info(self, msg: str, *args: Any, **fields: Any) -> None: ...
    def warning(self, msg: str, *args: Any, **fields: Any) -> None: ...
    def error(self, msg: str, *args: Any, **fields: Any) -> None: ...
    def exception(self, msg: str, *args: Any, **fields: Any) -> None: ...


@runtime_checkable
class StorageService(Protocol):
    """Files under the extension's own storage root.

    Paths are relative, ``/``-separated; ``..``, absolute paths, NUL bytes and
    symlinks that leave the root raise :class:`~dufflebag_harness.sdk.StorageError`.
    """

    async def write(self, path: str, data: bytes) -> None: ...
    async def read(self, path: str) -> bytes: ...
    async def delete(self, path: str) -> None: ...
    async def exists(self, path: str) -> bool: ...
    async def list(self, prefix: str = "") -> list[str]: ...


@runtime_checkable
class CacheService(Protocol):
    """A per-extension key/value cache with optional TTL (seconds)."""

    async def get(self, key: str, default: Any = None) -> Any: ...
    async def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...


@runtime_checkable
class ConfigService(Protocol):
    """The extension's own configuration section (validated; never others')."""

    def get(self, key: str, default: Any = None) -> Any: ...
    def all(self) -> Mapping[str, Any]: ...
    def on_change(self, callback: Callable[[Mapping[str, Any]], None]) -> None: ...


@runtime_checkable
class MetricsService(Protocol):
    """Prometheus metrics labelled with the extension's name."""

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None: ...
    def observe(self, name: str, value: float, **labels: str) -> None: ...
    def gauge(self, name: str, value: float, **labels: str) -> None: ...


@runtime_checkable
class AuditService(Protocol):
    """The platform's audit trail: who did what, with metadata."""

    def record(self, user_id: int | None, action: str, metadata: Mapping[str, Any]) -> None: ...


@dataclass(frozen=True)
class Services:
    """Everything an extension may use, handed to ``initialize``."""

    name: str
    database: DatabaseService
    auth: AuthService
    logger: Logger
    storage: StorageService
    cache: CacheService
    config: ConfigService
    metrics: MetricsService
    audit: AuditService
    extras: Mapping[str, Any] = field(default_factory=dict)


def role_names(user: User | None) -> Sequence[str]:
    """Sorted role names of ``user`` (empty for anonymous); handy in handlers."""
    return sorted(user.roles) if user else []
