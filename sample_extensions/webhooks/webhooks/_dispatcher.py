"""Deliveries off the request path: a bounded queue, retries with backoff, a log.

Hooks only build the event and ``submit`` it (no I/O on the request path).
A single runner task takes jobs from the queue and starts one task per
delivery, at most :data:`MAX_IN_FLIGHT` at a time; each delivery makes up to
``max_attempts`` attempts with bounded exponential backoff, logs every attempt,
and reports its final outcome once. ``stop()`` cancels the runner and every
delivery (also one waiting to retry) and awaits them, so nothing outlives the
extension; what was still queued is dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from webhooks._config import Settings
from webhooks._http import DeliveryError
from webhooks._store import Attempt, Subscription

__all__ = ["MAX_IN_FLIGHT", "Dispatcher", "Job"]

#: Deliveries running at once (each holds at most one connection).
MAX_IN_FLIGHT = 8


@dataclass(frozen=True)
class Job:
    """One event for one subscription; ``body`` is final (it is what gets signed)."""

    subscription: Subscription
    event: str
    body: bytes
    delivery_id: str

    @classmethod
    def create(cls, subscription: Subscription, event: str, data: Mapping[str, Any]) -> Job:
        """A job with a fresh delivery id, carried in the body as well as in a header."""
        delivery_id = uuid.uuid4().hex
        document = {"id": delivery_id, "event": event, "occurred_at": time.time(),
                    "data": dict(data)}
        body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        return cls(subscription, event, body, delivery_id)


class Dispatcher:
    """Runs deliveries on the event loop it is started on."""

    def __init__(
        self,
        *,
        settings: Callable[[], Settings],
        send: Callable[[Job, int, Settings], Awaitable[int]],
        log_attempt: Callable[[Attempt], Awaitable[None]],
        finished: Callable[[Job, bool], Awaitable[None]],
        maxsize: int = 1000,
    ) -> None:
        self._settings = settings
        self._send = send
        self._log_attempt = log_attempt
        self._finished = finished
        self.maxsize = maxsize
        self._queue: asyncio.Queue[Job] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle: asyncio.Event | None = None
        self.dropped = 0
        self.delivered = 0
        self.failed = 0
        self.last_error: str | None = None

    # -- state ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._runner is not None and not self._runner.done()

    @property
    def queued(self) -> int:
        """Deliveries waiting for a free slot."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def in_flight(self) -> int:
        """Deliveries being attempted or waiting to retry."""
        return len(self._tasks)

    @property
    def pending(self) -> int:
        return self.queued + self.in_flight

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        if self.running:
            return
        self._queue = asyncio.Queue(self.maxsize)
        self._idle = asyncio.Event()
        self._idle.set()
        self._runner = asyncio.get_running_loop().create_task(self._run(self._queue),
                                                                name="webhooks")

    async def stop(self) -> None:
        """Cancel the runner and every delivery, and wait for them; safe to call twice."""
        tasks = [t for t in (self._runner, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._queue is not None:
            self.dropped += self._queue.qsize()
        self._queue = None
        self._runner = None
        self._tasks.clear()
        if self._idle is not None:
            self._idle.set()  # nothing is left to wait for

    def submit(self, job: Job) -> bool:
        """Queue ``job`` without waiting; False (and counted) when stopped or full."""
        if self._queue is None or self._idle is None or not self.running:
            self.dropped += 1
            return False
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        self._idle.clear()
        return True

    async def drain(self, timeout_s: float = 10.0) -> bool:
        """Wait until nothing is queued or in flight; False on timeout (tests use it)."""
        if self._idle is None:
            return True
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    # -- work ----------------------------------------------------------------------
    async def _run(self, queue: asyncio.Queue[Job]) -> None:
        slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        while True:
            job = await queue.get()
            await slots.acquire()
            task = asyncio.get_running_loop().create_task(self._deliver(job))
            self._tasks.add(task)
            task.add_done_callback(lambda t: self._done(t, slots))

    def _done(self, task: asyncio.Task[None], slots: asyncio.Semaphore) -> None:
        self._tasks.discard(task)
        slots.release()
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            self.last_error = f"delivery bookkeeping failed: {type(exc).__name__}: {exc}"
        if self._idle is not None and not self._tasks and self._queue is not None \
                and self._queue.empty():
            self._idle.set()

    async def _deliver(self, job: Job) -> None:
        settings = self._settings()
        delivered = False
        for attempt in range(1, settings.max_attempts + 1):
            started = time.perf_counter()
            status: int | None = None
            error: str | None = None
            final = attempt == settings.max_attempts
            try:
                status = await self._send(job, attempt, settings)
            except DeliveryError as exc:
                error, final = str(exc), final or exc.permanent
            except Exception as exc:  # a failed attempt, never a failed extension
                error = f"{type(exc).__name__}: {exc}"
            delivered = status is not None and 200 <= status < 300
            if not delivered:
                error = error or f"HTTP {status}"
                self.last_error = error
            await self._log_attempt(Attempt(
                job.delivery_id, attempt, job.subscription.id, job.event, delivered, status,
                error, round((time.perf_counter() - started) * 1000, 3)))
            if delivered or final:
                break
            await asyncio.sleep(settings.backoff(attempt))
        if delivered:
            self.delivered += 1
        else:
            self.failed += 1
        await self._finished(job, delivered)
