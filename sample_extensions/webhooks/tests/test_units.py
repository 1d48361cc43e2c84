"""Configuration, backoff, the HTTP client's edge cases, and the dispatcher's bounds."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from webhooks._config import DEFAULT_CONFIG, Settings, parse
from webhooks._dispatcher import MAX_IN_FLIGHT, Dispatcher, Job
from webhooks._http import DeliveryError, post
from webhooks._store import MIGRATIONS, Attempt, Subscription
from webhooks.extension import Webhooks

from dufflebag_harness.sdk import ConfigError, Health

SUB = Subscription("a" * 32, "http://127.0.0.1:9/x", frozenset({"request.completed"}), "/",
                   "s" * 64)


def test_defaults_parse_to_the_documented_settings() -> None:
    assert parse(DEFAULT_CONFIG) == Settings()
    assert parse({}) == Settings()


@pytest.mark.parametrize(("config", "path"), [
    ({"retries": 3}, "$.retries"),
    ({"allowed_hosts": "localhost"}, "$.allowed_hosts"),
    ({"allowed_hosts": ["ok.example", "bad host"]}, "$.allowed_hosts[1]"),
    ({"allowed_hosts": [7]}, "$.allowed_hosts[0]"),
    ({"max_attempts": 0}, "$.max_attempts"),
    ({"max_attempts": 2.5}, "$.max_attempts"),
    ({"max_attempts": True}, "$.max_attempts"),
    ({"backoff_base_s": -1}, "$.backoff_base_s"),
    ({"backoff_max_s": "1"}, "$.backoff_max_s"),
    ({"timeout_s": 0}, "$.timeout_s"),
    ({"disable_after": 1001}, "$.disable_after"),
    ({"max_subscriptions": 0}, "$.max_subscriptions"),
])
def test_bad_settings_name_their_path(config: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(config)
    assert err.value.path == path


def test_integers_may_be_written_as_whole_floats_as_json_schema_allows() -> None:
    settings = parse({"max_attempts": 2.0, "disable_after": 7.0, "max_subscriptions": 35.0})
    assert (settings.max_attempts, settings.disable_after, settings.max_subscriptions) == (2, 7, 35)
    assert isinstance(settings.max_attempts, int)
    with pytest.raises(ConfigError, match="must be a number"):
        parse({"timeout_s": float("nan")})


def test_parse_refuses_a_non_object() -> None:
    with pytest.raises(ConfigError, match="expected an object"):
        parse(["x"])  # type: ignore[arg-type]


def test_an_invalid_reload_keeps_the_running_settings(dufflebag_host: Any,
                                                      dufflebag_instance: Any) -> None:
    with pytest.raises(ConfigError):
        dufflebag_host.set_config("webhooks", {"max_attempts": 99})
    assert dufflebag_instance.settings == Settings()


def test_backoff_doubles_up_to_its_bound() -> None:
    s = Settings(backoff_base_s=0.5, backoff_max_s=3)
    assert [s.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_allowed_hosts_match_case_insensitively_and_wildcards_need_a_subdomain() -> None:
    s = Settings(allowed_hosts=("*.example.org", "LocalHost", "[::1]"))
    assert s.allows("a.b.example.org") and s.allows("localhost.") and s.allows("::1")
    assert not s.allows("example.org") and not s.allows("badexample.org")


@pytest.fixture
def garbage_server() -> Iterator[int]:
    """A TCP server that answers one line that is not HTTP."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"SSH-2.0-OpenSSH\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(srv.getsockname()[1])
    thread.join(2)
    srv.close()


def test_an_answer_that_is_not_http_is_a_delivery_error(garbage_server: int) -> None:
    url = f"http://127.0.0.1:{garbage_server}/x?token=1"
    with pytest.raises(DeliveryError, match="no HTTP status line") as err:
        asyncio.run(post(url, b"{}", {}, 2.0))
    assert not err.value.permanent


def _dispatcher(send: Any, maxsize: int = 10, **settings: Any) -> tuple[Dispatcher, list[Any]]:
    log: list[Any] = []

    async def log_attempt(a: Attempt) -> None:
        log.append(a)

    async def finished(job: Job, ok: bool) -> None:
        log.append(("finished", ok))

    return Dispatcher(settings=lambda: Settings(**settings), send=send,
                      log_attempt=log_attempt, finished=finished, maxsize=maxsize), log


def test_submit_before_start_and_after_stop_is_dropped_and_counted() -> None:
    async def send(job: Job, attempt: int, s: Settings) -> int:
        return 200

    d, _ = _dispatcher(send)
    assert d.submit(Job.create(SUB, "request.completed", {})) is False

    async def run() -> None:
        d.start()
        d.start()  # a second start is a no-op
        await d.stop()
        await d.stop()  # and so is a second stop
        assert d.submit(Job.create(SUB, "request.completed", {})) is False
        assert await d.drain(0.1)

    asyncio.run(run())
    assert d.dropped == 2


def test_a_full_queue_drops_instead_of_waiting() -> None:
    release = asyncio.Event()

    async def send(job: Job, attempt: int, s: Settings) -> int:
        await release.wait()
        return 200

    d, _ = _dispatcher(send, maxsize=2)

    async def run() -> list[bool]:
        d.start()
        accepted = [d.submit(Job.create(SUB, "request.completed", {})) for _ in range(20)]
        await asyncio.sleep(0.05)
        release.set()
        assert await d.drain(2)
        await d.stop()
        return accepted

    accepted = asyncio.run(run())
    assert accepted[:2] == [True, True] and accepted.count(False) == d.dropped
    assert d.dropped > 0 and d.delivered == accepted.count(True)


def test_stop_cancels_a_delivery_waiting_to_retry() -> None:
    async def send(job: Job, attempt: int, s: Settings) -> int:
        return 500

    d, log = _dispatcher(send, backoff_base_s=60, backoff_max_s=60)

    async def run() -> None:
        d.start()
        d.submit(Job.create(SUB, "request.completed", {}))
        await asyncio.sleep(0.05)
        assert d.pending == 1
        async with asyncio.timeout(1):
            await d.stop()

    asyncio.run(run())
    assert [a.attempt for a in log] == [1]  # waiting for attempt 2 when stopped
    assert d.pending == 0


def test_drain_reports_a_timeout() -> None:
    async def send(job: Job, attempt: int, s: Settings) -> int:
        await asyncio.sleep(10)
        return 200

    d, _ = _dispatcher(send)

    async def run() -> bool:
        d.start()
        d.submit(Job.create(SUB, "request.completed", {}))
        drained = await d.drain(0.05)
        await d.stop()
        return drained

    assert asyncio.run(run()) is False


def test_an_unexpected_send_error_is_a_failed_attempt() -> None:
    async def send(job: Job, attempt: int, s: Settings) -> int:
        raise RuntimeError("boom")

    d, log = _dispatcher(send, max_attempts=1)

    async def run() -> None:
        d.start()
        d.submit(Job.create(SUB, "request.completed", {}))
        assert await d.drain(2)
        await d.stop()

    asyncio.run(run())
    assert log[0].error == "RuntimeError: boom" and log[1] == ("finished", False)
    assert d.failed == 1 and d.last_error == "RuntimeError: boom"


def test_a_bookkeeping_failure_is_kept_as_the_last_error() -> None:
    async def send(job: Job, attempt: int, s: Settings) -> int:
        return 200

    async def broken_log(a: Attempt) -> None:
        raise OSError("database is gone")

    async def finished(job: Job, ok: bool) -> None:
        return None

    d = Dispatcher(settings=Settings, send=send, log_attempt=broken_log, finished=finished)

    async def run() -> None:
        d.start()
        d.submit(Job.create(SUB, "request.completed", {}))
        assert await d.drain(2)
        await d.stop()

    asyncio.run(run())
    assert d.last_error == "delivery bookkeeping failed: OSError: database is gone"


def test_health_follows_the_dispatcher(dufflebag_portal: Any, dufflebag_services: Any,
                                       receiver: Any) -> None:
    ext = Webhooks(queue_size=5)
    dufflebag_portal.call(dufflebag_services.database.execute, MIGRATIONS[0].up)
    dufflebag_portal.call(ext.initialize, dufflebag_services)
    stopped = dufflebag_portal.call(ext.health)
    assert stopped.status == Health.DEGRADED and stopped.message == "deliveries are not running"
    receiver.delay_s = 2.0  # every delivery stays in flight
    slow = Subscription("b" * 32, receiver.url, frozenset({"request.completed"}), "/", "s")

    async def running() -> tuple[Any, Any]:
        ext.dispatcher.start()
        healthy = await ext.health()
        # 8 in flight, then one held by the runner waiting for a slot, 4 queued
        for batch in (MAX_IN_FLIGHT // 2, MAX_IN_FLIGHT // 2, 5):
            for _ in range(batch):
                assert ext.dispatcher.submit(Job.create(slow, "request.completed", {}))
            await asyncio.sleep(0.05)
        backed_up = await ext.health()
        await ext.stop()
        return healthy, backed_up

    healthy, backed_up = dufflebag_portal.call(running)
    assert healthy.status == Health.HEALTHY and healthy.checks["queue"] == "0/5"
    assert backed_up.status == Health.DEGRADED
    assert backed_up.message == "deliveries are queueing up"
    assert (backed_up.checks["queue"], backed_up.checks["in_flight"]) == ("4/5", "8")
