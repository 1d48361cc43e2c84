"""Request and hook deadlines, served by one timer per event loop.

``anyio.move_on_after`` schedules a loop timer for every scope it opens and
cancels it on the way out; per request that was a large share of the host's
own cost. Here a deadline is an :class:`anyio.CancelScope` opened *without* a
deadline and registered with the loop's :class:`DeadlineWatch`, whose single
timer is set for the earliest registered deadline and calls ``cancel()`` on the
scopes that are overdue. The cancellation is anyio's own, so it behaves as a
deadline's would: level-triggered (a handler that swallows it is cancelled
again at its next await), stopped by shielded scopes, reported through
``cancelled_caught``. What differs: the scope carries no ``deadline`` value, so
``anyio.current_effective_deadline()`` inside it does not show the request's.

A timer left set after the requests it was for have finished just fires once,
finds nothing overdue, and is not set again.

The scopes are made with the class ``anyio.CancelScope()`` resolved to on the
watch's loop: the public constructor looks the async backend up on every call,
which costs as much again as the scope itself.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import anyio

__all__ = ["DeadlineWatch", "Deadlines"]


class DeadlineWatch:
    """The scopes with a deadline on one event loop, and the one timer that enforces them."""

    __slots__ = ("_handle", "_live", "_next", "_scope_class", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make the watch of ``loop``; call from a coroutine running on it."""
        self.loop = loop
        self._scope_class: Callable[[], anyio.CancelScope] = type(anyio.CancelScope())
        self._live: dict[anyio.CancelScope, float] = {}
        self._handle: asyncio.TimerHandle | None = None
        self._next = math.inf

    def open(self, timeout_s: float) -> anyio.CancelScope:
        """A new scope (not yet entered) that is cancelled in ``timeout_s`` unless closed."""
        scope = self._scope_class()
        at = self.loop.time() + timeout_s
        self._live[scope] = at
        if at < self._next:
            self._set_timer(at)
        return scope

    def close(self, scope: anyio.CancelScope) -> None:
        """Forget ``scope``'s deadline (it has been exited)."""
        self._live.pop(scope, None)

    def _set_timer(self, at: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self.loop.call_at(at, self._expire)
        self._next = at

    def _expire(self) -> None:
        self._handle = None
        self._next = math.inf
        now = self.loop.time()
        soonest = math.inf
        for scope, at in list(self._live.items()):
            if at <= now:
                del self._live[scope]
                scope.cancel("deadline exceeded")
            elif at < soonest:
                soonest = at
        if soonest < math.inf:
            self._set_timer(soonest)

    def __len__(self) -> int:
        return len(self._live)


class Deadlines:
    """Finds the watch of the running event loop (a host may be served from several)."""

    __slots__ = ("_watch",)

    def __init__(self) -> None:
        self._watch: DeadlineWatch | None = None

    def watch(self) -> DeadlineWatch:
        """The running loop's watch; must be called from a coroutine on that loop."""
        loop = asyncio.get_running_loop()
        watch = self._watch
        if watch is None or watch.loop is not loop:
            # Another loop served the last request: start a watch for this one. The
            # previous watch keeps its own timer for the scopes registered with it.
            watch = self._watch = DeadlineWatch(loop)
        return watch
