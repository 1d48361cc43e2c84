"""The request being served, as a context variable, so log records can name it.

anyio copies the context into worker threads, so sync handlers and services
called from them see the same request. A request's id is only spelled out when
something asks for it (a log record, mostly): per request the host takes a
number from a counter, which is cheap and unique within the process; the
process's random prefix keeps ids from different processes apart.
"""

from __future__ import annotations

import itertools
import os
from contextvars import ContextVar
from typing import NamedTuple

__all__ = ["CURRENT_REQUEST", "RequestInfo", "next_request_number", "request_fields"]

_PREFIX = os.urandom(4).hex()

#: The next request's number (thread-safe: ``itertools.count`` is atomic).
next_request_number = itertools.count(1).__next__


class RequestInfo(NamedTuple):
    """Method, path and sequence number of one request; :attr:`request_id` names it."""

    method: str
    path: str
    number: int

    @property
    def request_id(self) -> str:
        """16 hex digits (more past 4 billion requests), unique within the process."""
        return f"{_PREFIX}{self.number:08x}"


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
