"""The public names are a contract: adding one is a decision, removing one breaks authors."""

from __future__ import annotations

import dufflebag_harness.sdk
from dufflebag_harness.sdk import Extension, HookType

SDK_NAMES = {
    "CORE_ROLES", "DEFAULT_CAPABILITIES", "NAME_PATTERN", "AuditService", "AuthService",
    "CacheService", "Capability", "ConfigError", "ConfigService", "DatabaseAccessError",
    "DatabaseService", "Extension", "ExtensionError", "HTMLResponse", "Handler", "Health",
    "HealthStatus", "Hook", "HookContext", "HookHandler", "HookType", "JSONResponse", "Logger",
    "Metadata", "MetricsService", "Middleware", "Migration", "Permission", "PermissionDenied",
    "PlainTextResponse", "Quotas", "Request", "Response", "RouteError", "RouteSpec", "Router",
    "Services", "StorageError", "StorageService", "User", "current_user",
}


def test_sdk_exports_exactly_the_pinned_names() -> None:
    assert set(dufflebag_harness.sdk.__all__) == SDK_NAMES
    for name in SDK_NAMES:
        assert hasattr(dufflebag_harness.sdk, name), name


def test_every_platform_hook_type_exists() -> None:
    expected = {
        "pre_request", "post_request", "pre_response", "post_response", "error",
        "authentication", "authorization", "pre_auth", "post_auth", "pre_database",
        "post_database", "before_upload", "after_upload", "before_download", "after_download",
        "post_login", "post_signup",
    }
    assert {h.value for h in HookType} == expected


def test_extension_defaults_are_inert() -> None:
    ext = Extension()
    assert list(ext.middleware()) == [] and list(ext.hooks()) == []
    assert dict(ext.static_assets()) == {}
