"""Errors the host raises to extensions (and extensions may raise)."""

from __future__ import annotations


class ExtensionError(Exception):
    """Base of every error the SDK defines."""


class RouteError(ExtensionError):
    """A route was refused at registration (outside the prefix, escape, conflict)."""


class ConfigError(ExtensionError):
    """Configuration was refused; ``path`` is the JSON path of the offending value."""

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.reason = message


class StorageError(ExtensionError):
    """A storage path was refused (traversal, absolute path, symlink) or not found."""


class PermissionDenied(ExtensionError):
    """An operation was denied by the host (read-only service, undeclared capability)."""


class DatabaseAccessError(ExtensionError):
    """The database refused an operation outside the extension's schema."""
