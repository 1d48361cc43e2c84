"""Logger service: stdlib logging with the extension's name and the request on every record.

Records go to ``dufflebag.ext.<name>`` and carry ``extension``, ``request_id``,
``request_method``, ``request_path`` and ``fields`` (the keyword arguments),
with values under secret-looking keys redacted so credentials never reach a log.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.inside.host._context import request_fields

__all__ = ["ExtensionLogger", "redact"]

_SECRET_MARKERS = ("password", "passwd", "secret", "token", "authorization", "api_key", "apikey")
REDACTED = "[redacted]"


def redact(fields: Mapping[str, Any]) -> dict[str, Any]:
    """``fields`` with values under secret-looking keys replaced by ``[redacted]``."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if any(marker in key.lower() for marker in _SECRET_MARKERS):
            out[key] = REDACTED
        elif isinstance(value, Mapping):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


class ExtensionLogger:
    """Implements :class:`dufflebag_harness.sdk.Logger` for one extension."""

    def __init__(self, extension: str) -> None:
        self._extension = extension
        self._log = logging.getLogger(f"dufflebag.ext.{extension}")

    @property
    def logger(self) -> logging.Logger:
        return self._log

    def _emit(
        self, level: int, msg: str, args: tuple[Any, ...], fields: dict[str, Any], exc: bool
    ) -> None:
        if not self._log.isEnabledFor(level):
            return
        extra = {"extension": self._extension, "fields": redact(fields), **request_fields()}
        self._log.log(level, msg, *args, extra=extra, exc_info=exc, stacklevel=3)

    def debug(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.DEBUG, msg, args, fields, False)

    def info(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.INFO, msg, args, fields, False)

    def warning(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.WARNING, msg, args, fields, False)

    def error(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.ERROR, msg, args, fields, False)

    def exception(self, msg: str, *args: Any, **fields: Any) -> None:
        self._emit(logging.ERROR, msg, args, fields, True)
