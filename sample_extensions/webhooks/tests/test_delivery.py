"""Deliveries to a real receiver on 127.0.0.1: signed, retried, logged, given up on."""

from __future__ import annotations

import hashlib
import hmac
import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest

API = "/ext/webhooks/subscriptions"
#: Fast retries: no waiting between attempts.
FAST = {"backoff_base_s": 0, "backoff_max_s": 0, "timeout_s": 2}
Receiver = Any  # the ``receiver`` fixture of conftest.py (tests import only allowed modules)
Subscribe = Callable[..., dict[str, Any]]


def _expected_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _log(client: Any, sub_id: str) -> list[dict[str, Any]]:
    r = client.get(f"{API}/{sub_id}/deliveries", as_role="admin")
    assert r.status_code == 200
    return list(reversed(r.json()["deliveries"]))  # oldest first


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_request_is_delivered_signed(receiver: Receiver, subscribe: Subscribe,
                                       dufflebag_client: Any, dufflebag_users: Any,
                                       drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url)
    assert dufflebag_client.get("/api/v1/me", as_role="user").status_code == 200
    drain()
    [got] = receiver.requests
    assert got.path == "/hook"
    assert got.headers["X-Dufflebag-Signature"] == _expected_signature(sub["secret"], got.body)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["X-Dufflebag-Event"] == "request.completed"
    assert got.headers["X-Dufflebag-Attempt"] == "1"
    doc = got.json()
    assert doc["id"] == got.headers["X-Dufflebag-Delivery"]
    assert doc["event"] == "request.completed"
    assert doc["data"]["method"] == "GET" and doc["data"]["path"] == "/api/v1/me"
    assert doc["data"]["status"] == 200
    assert doc["data"]["user_id"] == dufflebag_users["user"].id
    assert doc["data"]["duration_ms"] >= 0
    [attempt] = _log(dufflebag_client, sub["id"])
    assert attempt["ok"] is True and attempt["status_code"] == 200 and attempt["error"] is None


def test_the_package_verifies_what_it_signs(receiver: Receiver, subscribe: Subscribe,
                                            dufflebag_client: Any,
                                            drain: Callable[[], None]) -> None:
    from webhooks import verify

    sub = subscribe(receiver.url)
    dufflebag_client.get("/healthz")
    drain()
    [got] = receiver.requests
    header = got.headers["X-Dufflebag-Signature"]
    assert verify(sub["secret"], got.body, header)
    assert not verify(sub["secret"], got.body + b" ", header)
    assert not verify("0" * 64, got.body, header)
    assert not verify(sub["secret"], got.body, None)


def test_path_prefix_filters_and_own_api_is_never_announced(
        receiver: Receiver, subscribe: Subscribe, dufflebag_client: Any,
        drain: Callable[[], None]) -> None:
    subscribe(receiver.url, path_prefix="/api/")
    dufflebag_client.get("/healthz")
    dufflebag_client.get("/ext/webhooks/ping")
    dufflebag_client.get(API, as_role="admin")
    dufflebag_client.get("/api/v1/me", as_role="admin")
    drain()
    assert [r.json()["data"]["path"] for r in receiver.requests] == ["/api/v1/me"]


def test_signup_is_delivered_without_the_password(receiver: Receiver, subscribe: Subscribe,
                                                  dufflebag_client: Any,
                                                  drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url, events=["user.signup"])
    r = dufflebag_client.post("/api/v1/auth/signup", json={
        "username": "newcomer", "email": "n@example.org", "password": "correct horse 42!"})
    assert r.status_code == 201, r.text
    drain()
    [got] = receiver.requests
    doc = got.json()
    assert doc["event"] == "user.signup"
    assert doc["data"] == {"user_id": r.json()["id"], "username": "newcomer"}
    assert b"correct horse" not in got.body
    assert got.headers["X-Dufflebag-Signature"] == _expected_signature(sub["secret"], got.body)


@pytest.mark.dufflebag(config=FAST)
def test_failed_attempts_are_retried_and_logged(receiver: Receiver, subscribe: Subscribe,
                                                dufflebag_client: Any,
                                                drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url)
    receiver.statuses = [500, 503]
    dufflebag_client.get("/healthz")
    drain()
    assert [r.headers["X-Dufflebag-Attempt"] for r in receiver.requests] == ["1", "2", "3"]
    assert len({r.body for r in receiver.requests}) == 1  # the same signed body each time
    log = _log(dufflebag_client, sub["id"])
    assert [(a["attempt"], a["ok"], a["status_code"], a["error"]) for a in log] == [
        (1, False, 500, "HTTP 500"), (2, False, 503, "HTTP 503"), (3, True, 200, None)]
    assert len({a["delivery_id"] for a in log}) == 1
    one = dufflebag_client.get(f"{API}/{sub['id']}", as_role="admin").json()
    assert one["consecutive_failures"] == 0 and one["active"] is True


@pytest.mark.dufflebag(config={**FAST, "max_attempts": 2, "disable_after": 2})
def test_consecutive_failures_disable_then_admin_enables(
        receiver: Receiver, subscribe: Subscribe, dufflebag_client: Any,
        drain: Callable[[], None], caplog: pytest.LogCaptureFixture) -> None:
    sub = subscribe(receiver.url)
    receiver.statuses = [500] * 4
    dufflebag_client.get("/healthz")
    drain()
    one = dufflebag_client.get(f"{API}/{sub['id']}", as_role="admin").json()
    assert (one["active"], one["consecutive_failures"]) == (True, 1)
    dufflebag_client.get("/healthz")
    drain()
    one = dufflebag_client.get(f"{API}/{sub['id']}", as_role="admin").json()
    assert one["active"] is False and one["consecutive_failures"] == 2
    assert one["disabled_reason"] == "disabled after 2 failed deliveries in a row"
    assert len(receiver.requests) == 4
    dufflebag_client.get("/healthz")
    drain()
    assert len(receiver.requests) == 4  # disabled: nothing more is sent

    r = dufflebag_client.post(f"{API}/{sub['id']}/enable", as_role="manager")
    assert r.status_code == 200
    assert (r.json()["active"], r.json()["consecutive_failures"]) == (True, 0)
    assert r.json()["disabled_reason"] is None
    dufflebag_client.get("/healthz")
    drain()
    assert len(receiver.requests) == 5 and receiver.requests[-1].json()["event"] == \
        "request.completed"


@pytest.mark.dufflebag(config={**FAST, "max_attempts": 2})
def test_connection_refused_is_an_attempt_error(subscribe: Subscribe, dufflebag_client: Any,
                                                drain: Callable[[], None]) -> None:
    sub = subscribe(f"http://127.0.0.1:{_closed_port()}/x")
    dufflebag_client.get("/healthz")
    drain()
    log = _log(dufflebag_client, sub["id"])
    assert [(a["attempt"], a["ok"], a["status_code"]) for a in log] == [
        (1, False, None), (2, False, None)]
    assert all("ConnectionRefusedError" in a["error"] for a in log)
    assert dufflebag_client.get(f"{API}/{sub['id']}", as_role="admin").json()[
        "consecutive_failures"] == 1


@pytest.mark.dufflebag(config={**FAST, "max_attempts": 1, "timeout_s": 0.2})
def test_a_slow_receiver_times_out(receiver: Receiver, subscribe: Subscribe,
                                   dufflebag_client: Any, drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url)
    receiver.delay_s = 1.0
    dufflebag_client.get("/healthz")
    drain()
    [attempt] = _log(dufflebag_client, sub["id"])
    assert attempt["error"] == "timed out after 0.2 s"
    assert attempt["duration_ms"] < 900


@pytest.mark.dufflebag(config={**FAST, "max_attempts": 1})
def test_https_to_a_plain_http_receiver_is_a_tls_error(
        receiver: Receiver, subscribe: Subscribe, dufflebag_client: Any,
        drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url.replace("http://", "https://"))
    dufflebag_client.get("/healthz")
    drain()
    [attempt] = _log(dufflebag_client, sub["id"])
    assert attempt["error"].startswith("TLS error") and attempt["ok"] is False


@pytest.mark.dufflebag(config=FAST)
def test_a_host_removed_from_the_allowed_list_gets_nothing(
        receiver: Receiver, subscribe: Subscribe, dufflebag_client: Any, dufflebag_host: Any,
        drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url)
    dufflebag_host.set_config("webhooks", {**FAST, "allowed_hosts": ["localhost"]})
    dufflebag_client.get("/healthz")
    drain()
    assert receiver.requests == []
    [attempt] = _log(dufflebag_client, sub["id"])  # permanent: not retried
    assert attempt["error"] == "host '127.0.0.1' is no longer in allowed_hosts"


def test_the_test_endpoint_sends_a_ping(receiver: Receiver, subscribe: Subscribe,
                                        dufflebag_client: Any,
                                        drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url, events=["user.signup"])
    r = dufflebag_client.post(f"{API}/{sub['id']}/test", as_role="admin")
    assert r.status_code == 202
    drain()
    [got] = receiver.requests
    assert got.headers["X-Dufflebag-Delivery"] == r.json()["delivery_id"]
    assert got.json()["event"] == "webhook.ping"
    assert got.json()["data"] == {"subscription_id": sub["id"]}


def test_a_test_delivery_is_audited_with_who_asked(receiver: Receiver, subscribe: Subscribe,
                                                   dufflebag_client: Any, dufflebag_host: Any,
                                                   dufflebag_users: Any) -> None:
    sub = subscribe(receiver.url, events=["user.signup"])
    assert dufflebag_client.post(f"{API}/{sub['id']}/test", as_role="manager").status_code == 202
    last = dufflebag_host.audit_log[-1]
    assert (last.user_id, last.action, dict(last.metadata)) == (
        dufflebag_users["manager"].id, "webhooks.test_queued", {"subscription": sub["id"]})


@pytest.mark.dufflebag(config={**FAST, "max_attempts": 2})
def test_secrets_never_reach_the_logs(receiver: Receiver, subscribe: Subscribe,
                                      dufflebag_client: Any, drain: Callable[[], None],
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sub = subscribe(receiver.url)
    receiver.statuses = [500, 500]
    dufflebag_client.get("/healthz")
    drain()
    messages = [r.getMessage() for r in caplog.records]
    assert any("failed: HTTP 500" in m for m in messages), messages
    assert not any(sub["secret"] in m or sub["secret"] in str(r.__dict__)
                   for m, r in zip(messages, caplog.records, strict=True))


def test_deleting_a_subscription_stops_its_deliveries(receiver: Receiver, subscribe: Subscribe,
                                                      dufflebag_client: Any,
                                                      drain: Callable[[], None]) -> None:
    sub = subscribe(receiver.url)
    dufflebag_client.delete(f"{API}/{sub['id']}", as_role="admin")
    dufflebag_client.get("/healthz")
    drain()
    assert receiver.requests == []


def test_deliveries_resume_after_stop_and_start(receiver: Receiver, subscribe: Subscribe,
                                                dufflebag_client: Any, dufflebag_portal: Any,
                                                dufflebag_instance: Any,
                                                drain: Callable[[], None]) -> None:
    subscribe(receiver.url)
    dufflebag_portal.call(dufflebag_instance.stop)
    dufflebag_portal.call(dufflebag_instance.stop)  # idempotent
    dufflebag_client.get("/healthz")  # stopped: dropped, not queued
    dufflebag_portal.call(dufflebag_instance.start)
    assert dufflebag_portal.call(dufflebag_instance.health).status.value == "healthy"
    dufflebag_client.get("/api/v1/me", as_role="user")
    drain()
    assert [r.json()["data"]["path"] for r in receiver.requests] == ["/api/v1/me"]
    assert dufflebag_instance.dispatcher.dropped == 1
