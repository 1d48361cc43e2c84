"""The extension contract: the only module extension authors import.

Everything here is stable within a host-API major version; names not in
``__all__`` are private. A test pins this list.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from dufflebag_harness.sdk._errors import (
    ConfigError,
    DatabaseAccessError,
    ExtensionError,
    PermissionDenied,
    RouteError,
    StorageError,
)
from dufflebag_harness.sdk._extension import Extension
from dufflebag_harness.sdk._hooks import Hook, HookContext, HookHandler, HookType, Middleware
from dufflebag_harness.sdk._metadata import NAME_PATTERN, Health, HealthStatus, Metadata
from dufflebag_harness.sdk._migrations import Migration
from dufflebag_harness.sdk._permissions import DEFAULT_CAPABILITIES, Capability, Permission, Quotas
from dufflebag_harness.sdk._request import current_user
from dufflebag_harness.sdk._routing import Handler, Router, RouteSpec
from dufflebag_harness.sdk._services import (
    CORE_ROLES,
    AuditService,
    AuthService,
    CacheService,
    ConfigService,
    DatabaseService,
    Logger,
    MetricsService,
    Services,
    StorageService,
    User,
)

__all__ = [
    "CORE_ROLES",
    "DEFAULT_CAPABILITIES",
    "NAME_PATTERN",
    "AuditService",
    "AuthService",
    "CacheService",
    "Capability",
    "ConfigError",
    "ConfigService",
    "DatabaseAccessError",
    "DatabaseService",
    "Extension",
    "ExtensionError",
    "HTMLResponse",
    "Handler",
    "Health",
    "HealthStatus",
    "Hook",
    "HookContext",
    "HookHandler",
    "HookType",
    "JSONResponse",
    "Logger",
    "Metadata",
    "MetricsService",
    "Middleware",
    "Migration",
    "Permission",
    "PermissionDenied",
    "PlainTextResponse",
    "Quotas",
    "Request",
    "Response",
    "RouteError",
    "RouteSpec",
    "Router",
    "Services",
    "StorageError",
    "StorageService",
    "User",
    "current_user",
]
