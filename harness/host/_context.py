"""The request being served, as a context variable, so log records can name it.

anyio copies the context into worker threads, so sync handlers and services
called from them see the same request.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

__all__ = ["CURRENT_REQUEST", "RequestInfo", "request_fields"]


@dataclass(frozen=True)
class RequestInfo:
    request_id: str
    method: str
    path: str


CURRENT_REQUEST: ContextVar[RequestInfo | None] = ContextVar(
    "dufflebag_current_request", default=None
)


def request_fields() -> dict[str, str]:
    """``extra`` fields for a log record: the current request, if any."""
    info = CURRENT_REQUEST.get()
    if info is None:
        return {}
    return {
        "request_id": info.request_id,
        "request_method": info.method,
        "request_path": info.path,
    }
