"""Config service: the extension's own, validated section; callbacks on hot reload."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = ["ExtensionConfig"]

log = logging.getLogger("dufflebag.host.config")


class ExtensionConfig:
    """Implements :class:`dufflebag_harness.sdk.ConfigService`; the host swaps the section."""

    def __init__(self, extension: str, section: Mapping[str, Any]) -> None:
        self._extension = extension
        self._section: dict[str, Any] = copy.deepcopy(dict(section))
        self._callbacks: list[Callable[[Mapping[str, Any]], None]] = []

    def get(self, key: str, default: Any = None) -> Any:
        return copy.deepcopy(self._section.get(key, default))

    def all(self) -> Mapping[str, Any]:
        return MappingProxyType(copy.deepcopy(self._section))

    def on_change(self, callback: Callable[[Mapping[str, Any]], None]) -> None:
        if not callable(callback):
            raise TypeError("on_change needs a callable")
        self._callbacks.append(callback)

    def replace(self, section: Mapping[str, Any]) -> None:
        """Install a new section (already validated and applied) and notify callbacks.

        A callback that raises propagates: the host then restores the old section.
        """
        self._section = copy.deepcopy(dict(section))
        for callback in list(self._callbacks):
            callback(self.all())

    def restore(self, section: Mapping[str, Any]) -> None:
        """Put a previous section back without notifying (used when a reload fails)."""
        self._section = copy.deepcopy(dict(section))
