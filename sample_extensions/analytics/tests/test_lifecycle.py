"""Start, stop, restart and health: the writer task's life, seen from outside."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from analytics import Analytics
from analytics._store import PageView

from dufflebag_harness.sdk import Health


def _view(path: str = "/p") -> PageView:
    return PageView(time.time(), "GET", path, 200, 1.0, None)


def test_healthy_while_running(dufflebag_portal: Any, dufflebag_instance: Any) -> None:
    health = dufflebag_portal.call(dufflebag_instance.health)
    assert health.status is Health.HEALTHY
    assert health.checks["writer"] == "running"


def test_stop_twice_then_restart_keeps_recording(
    dufflebag_portal: Any, dufflebag_instance: Any, dufflebag_client: Any,
    stored: Callable[[str], Any]
) -> None:
    dufflebag_client.get("/before")
    dufflebag_portal.call(dufflebag_instance.stop)
    dufflebag_portal.call(dufflebag_instance.stop)
    stopped = dufflebag_portal.call(dufflebag_instance.health)
    assert stopped.status is Health.DEGRADED and "not running" in stopped.message
    dufflebag_client.get("/while-stopped")  # queued, stored after the restart
    dufflebag_portal.call(dufflebag_instance.start)
    dufflebag_portal.call(dufflebag_instance.start)  # already running: no second writer
    dufflebag_client.get("/after")
    assert dufflebag_portal.call(dufflebag_instance.health).status is Health.HEALTHY
    paths = [r["path"] for r in stored("SELECT path FROM page_views ORDER BY ts")]
    assert paths == ["/before", "/while-stopped", "/after"]


def test_stop_before_start_is_harmless(dufflebag_portal: Any) -> None:
    ext = Analytics()
    dufflebag_portal.call(ext.stop)
    assert dufflebag_portal.call(ext.flush) is True


def test_degraded_when_the_queue_backs_up_and_drops_when_full(
    dufflebag_portal: Any, dufflebag_services: Any
) -> None:
    ext = Analytics(queue_size=5)

    async def fill() -> tuple[Any, list[bool]]:
        await ext.initialize(dufflebag_services)
        await ext.start()
        accepted = [ext.recorder.submit(_view()) for _ in range(6)]
        health = await ext.health()  # before the writer ran once
        return health, accepted

    health, accepted = dufflebag_portal.call(fill)
    try:
        assert accepted == [True] * 5 + [False]
        assert health.status is Health.DEGRADED
        assert health.message == "page views are queueing up"
        assert health.checks["queue"] == "5/5" and health.checks["dropped"] == "1"
    finally:
        dufflebag_portal.call(ext.stop)


def test_failed_writes_are_logged_and_reported_then_recovered(
    dufflebag_portal: Any, dufflebag_services: Any
) -> None:
    ext = Analytics()
    dufflebag_portal.call(ext.initialize, dufflebag_services)  # mock DB: no tables yet
    dufflebag_portal.call(ext.start)
    try:
        ext.recorder.submit(_view())
        assert dufflebag_portal.call(ext.flush)
        health = dufflebag_portal.call(ext.health)
        assert health.status is Health.DEGRADED
        assert health.message.startswith("last write failed:")
        assert health.checks["failed_batches"] == "1"
        [message] = dufflebag_services.logger.messages("error")
        assert message.startswith("storing page views failed:")
        for migration in Analytics.migrations:
            for statement in migration.up.split(";"):
                if statement.strip():
                    dufflebag_portal.call(dufflebag_services.database.execute, statement)
        ext.recorder.submit(_view("/ok"))
        assert dufflebag_portal.call(ext.flush)
        assert dufflebag_portal.call(ext.health).status is Health.HEALTHY
    finally:
        dufflebag_portal.call(ext.stop)


def test_views_from_another_thread_reach_the_writer(
    dufflebag_instance: Any, stored: Callable[[str], Any]
) -> None:
    sender = threading.Thread(target=dufflebag_instance.recorder.submit,
                              args=(_view("/from-thread"),))
    sender.start()
    sender.join()
    assert [r["path"] for r in stored("SELECT path FROM page_views")] == ["/from-thread"]
