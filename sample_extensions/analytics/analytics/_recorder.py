"""The write-behind queue: requests hand page views over, a background task stores them.

Why a queue: a database write per request would put the database's latency on
every page the platform serves. The middleware only appends to a bounded
in-memory queue (a few microseconds); one task drains it in batches. When the
queue is full, views are dropped and counted rather than slowing requests down,
and health turns ``degraded`` so an operator notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence

from analytics._store import PageView

__all__ = ["BATCH_SIZE", "DRAIN_TIMEOUT_S", "Recorder"]

BATCH_SIZE = 200
DRAIN_TIMEOUT_S = 2.0

def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


Writer = Callable[[Sequence[PageView]], Awaitable[None]]
OnError = Callable[[BaseException], None]


class Recorder:
    """Bounded queue plus one writer task; ``start``/``stop`` may alternate freely."""

    def __init__(self, write: Writer, on_error: OnError, maxsize: int = 10_000) -> None:
        self._write = write
        self._on_error = on_error
        self.maxsize = maxsize
        self._queue: asyncio.Queue[PageView] = asyncio.Queue(maxsize)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.written = 0
        self.dropped = 0
        self.failed_batches = 0
        self.last_write: float | None = None
        #: Text of the last failed batch's error; cleared by the next stored batch.
        self.last_error: str | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, view: PageView) -> bool:
        """Queue ``view`` without waiting; ``False`` (and counted) when the queue is full.

        asyncio queues are not thread-safe: a view submitted from another thread
        or event loop (an in-process client with a loop of its own) is handed to
        the writer's loop instead of touching the queue directly.
        """
        loop = self._loop
        if loop is not None and self.running and _running_loop() is not loop:
            loop.call_soon_threadsafe(self._put, view)
            return True
        return self._put(view)

    def _put(self, view: PageView) -> bool:
        try:
            self._queue.put_nowait(view)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    def start(self) -> None:
        """Start the writer on the running loop (a no-op if it runs already)."""
        if self.running:
            return
        # A fresh queue binds to this loop; views queued while stopped carry over.
        old, self._queue = self._queue, asyncio.Queue(self.maxsize)
        while not old.empty():
            self._queue.put_nowait(old.get_nowait())
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="analytics-writer")

    async def flush(self, timeout_s: float = DRAIN_TIMEOUT_S) -> bool:
        """Wait until every queued view was handled; ``False`` if that took too long."""
        if not self.running:
            return self._queue.empty()
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        """Drain what is queued (bounded), then end the writer. Safe to call twice."""
        if self._task is None:
            return
        await self.flush()
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH_SIZE and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
                self.written += len(batch)
                self.last_write = time.time()
                self.last_error = None
            except Exception as exc:  # a failed batch is counted and reported, never fatal
                self.failed_batches += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._on_error(exc)
            finally:
                for _ in batch:
                    self._queue.task_done()
