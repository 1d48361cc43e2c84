"""Cache service: an in-memory, per-extension key/value store with TTL.

Bounded (oldest entries evicted first) so one extension cannot grow the host
without limit; expiry uses the monotonic clock. The recording fake
(:class:`dufflebag_harness.fixtures.mocks.MockCache`) is this class, unbounded and
on a clock a test can move.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["MemoryCache"]


class MemoryCache:
    """Implements :class:`dufflebag_harness.sdk.CacheService`.

    ``max_entries=None`` means unbounded (entries then keep their first insertion
    order); ``clock`` gives the time expiry is measured on, in seconds.
    """

    def __init__(
        self, max_entries: int | None = 10_000, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._max = max_entries
        self._clock = clock
        self._items: OrderedDict[str, tuple[Any, float | None]] = OrderedDict()

    @staticmethod
    def _check_key(key: object) -> str:
        if not isinstance(key, str):
            raise TypeError(f"cache keys are strings, got {type(key).__name__}")
        return key

    async def get(self, key: str, default: Any = None) -> Any:
        item = self._items.get(self._check_key(key))
        if item is None:
            return default
        value, expires = item
        if expires is not None and self._clock() >= expires:
            del self._items[key]
            return default
        return value

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        self._check_key(key)
        if ttl is not None and ttl <= 0:
            raise ValueError(f"cache ttl for {key!r} must be positive, got {ttl!r}")
        expires = None if ttl is None else self._clock() + ttl
        self._items[key] = (value, expires)
        if self._max is not None:
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    async def delete(self, key: str) -> None:
        self._items.pop(self._check_key(key), None)

    def clear(self) -> None:
        self._items.clear()
