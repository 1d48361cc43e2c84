"""Run events (interface 3, version 0): what a certification run tells its handlers.

Handlers are plain callables; the rich progress display and the report
builder are two of them. Events are immutable so no handler can change what
another sees.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.conformance import CheckResult


@dataclass(frozen=True)
class RunStarted:
    run_id: str
    extension: str
    version: str
    profile: str
    planned: Sequence[str]


@dataclass(frozen=True)
class CheckStarted:
    check: str
    backend: str


@dataclass(frozen=True)
class CheckFinished:
    result: CheckResult


@dataclass(frozen=True)
class Notice:
    level: str  # "info" | "warning"
    text: str


@dataclass(frozen=True)
class RunFinished:
    report: dict[str, Any]
    level: str


Event = RunStarted | CheckStarted | CheckFinished | Notice | RunFinished
Handler = Callable[[Event], None]


class EventBus:
    """Delivers each event to every handler, in registration order."""

    def __init__(self, handlers: Sequence[Handler] = ()) -> None:
        self._handlers = list(handlers)
        # checks run on several lanes: one event at a time reaches the handlers
        self._lock = threading.RLock()

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def emit(self, event: Event) -> None:
        with self._lock:
            for handler in self._handlers:
                handler(event)
