"""The subscriptions API: who may use it, what it accepts, what it never shows."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

API = "/ext/webhooks/subscriptions"
URL = "http://127.0.0.1:9/hook"


def test_ping_is_public(dufflebag_client: Any) -> None:
    assert dufflebag_client.get("/ext/webhooks/ping").json() == {"extension": "webhooks",
                                                                 "pong": True}


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("user", 403), ("outsider", 403),
                                              ("deleted", 403)])
def test_only_admins_and_managers_manage(dufflebag_client: Any, role: str | None,
                                         status: int) -> None:
    body = {"url": URL, "events": ["user.signup"]}
    assert dufflebag_client.post(API, json=body, as_role=role).status_code == status
    assert dufflebag_client.get(API, as_role=role).status_code == status


def test_created_subscription_shows_its_secret_once(dufflebag_client: Any,
                                                    dufflebag_users: Any) -> None:
    r = dufflebag_client.post(API, as_role="manager", json={
        "url": URL, "events": ["user.signup", "request.completed"], "description": "ops"})
    assert r.status_code == 201
    created = r.json()
    assert re.fullmatch(r"[0-9a-f]{64}", created["secret"])
    assert created["events"] == ["request.completed", "user.signup"]
    assert created["active"] is True and created["consecutive_failures"] == 0
    assert created["created_by"] == dufflebag_users["manager"].id
    assert (created["path_prefix"], created["description"]) == ("/", "ops")
    listed = dufflebag_client.get(API, as_role="admin").json()["subscriptions"]
    one = dufflebag_client.get(f"{API}/{created['id']}", as_role="admin").json()
    assert created["secret"] not in str(listed) + str(one)
    expected = {k: v for k, v in created.items() if k != "secret"}
    assert listed == [expected] and one == expected


def test_two_subscriptions_get_different_secrets(
        subscribe: Callable[..., dict[str, Any]]) -> None:
    assert subscribe(URL)["secret"] != subscribe(URL)["secret"]


@pytest.mark.parametrize(("body", "says"), [
    ({"url": "ftp://127.0.0.1/x", "events": ["user.signup"]}, "$.url: must start with http"),
    ({"url": "http://example.org/x", "events": ["user.signup"]},
     "$.url: host 'example.org' is not allowed"),
    ({"url": "http://u:p@127.0.0.1/x", "events": ["user.signup"]}, "$.url: must not contain"),
    ({"url": "http://127.0.0.1/a b", "events": ["user.signup"]}, "$.url: must be ASCII"),
    ({"url": "http://127.0.0.1:99999/", "events": ["user.signup"]}, "$.url: not a URL"),
    ({"url": "http://127.0.0.1:0/", "events": ["user.signup"]}, "$.url: port 0"),
    ({"url": "http:///nohost", "events": ["user.signup"]}, "$.url: has no host"),
    ({"url": "http://127.0.0.1/" + "a" * 2100, "events": ["user.signup"]}, "$.url: longer"),
    ({"url": "", "events": ["user.signup"]}, "$.url: must be a non-empty string"),
    ({"url": URL, "events": []}, "$.events: must be a non-empty array"),
    ({"url": URL, "events": ["user.deleted"]}, "$.events[0]: 'user.deleted' is not one of"),
    ({"url": URL, "events": ["user.signup", "user.signup"]}, "$.events: lists an event twice"),
    ({"url": URL, "events": ["user.signup"], "path_prefix": "api"}, "$.path_prefix: must be"),
    ({"url": URL, "events": ["user.signup"], "description": "x" * 201}, "$.description:"),
    ({"url": URL, "events": ["user.signup"], "secret": "mine"}, "$.secret: unknown field"),
    (["not", "an", "object"], "$: expected a JSON object"),
])
def test_bad_subscriptions_are_refused_with_the_field(dufflebag_client: Any, body: Any,
                                                      says: str) -> None:
    r = dufflebag_client.post(API, json=body, as_role="admin")
    assert r.status_code == 422
    assert r.json()["error"].startswith(says)
    assert dufflebag_client.get(API, as_role="admin").json() == {"subscriptions": []}


def test_a_body_that_is_not_json_is_refused(dufflebag_client: Any) -> None:
    r = dufflebag_client.post(API, content=b"{", as_role="admin",
                              headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (422, {"error": "$: the body is not JSON"})


@pytest.mark.dufflebag(config={"allowed_hosts": ["*.example.org", "[::1]"]})
def test_allowed_hosts_accept_subdomains_and_ipv6(dufflebag_client: Any) -> None:
    def status(url: str) -> int:
        body = {"url": url, "events": ["user.signup"]}
        return int(dufflebag_client.post(API, json=body, as_role="admin").status_code)

    assert status("https://hooks.EXAMPLE.org/in") == 201
    assert status("http://[::1]:8080/in") == 201
    assert status("https://example.org/in") == 422
    assert status("https://evil-example.org/in") == 422
    assert status("http://127.0.0.1/in") == 422


@pytest.mark.dufflebag(config={"max_subscriptions": 2})
def test_the_subscription_limit_answers_409(subscribe: Callable[..., dict[str, Any]],
                                            dufflebag_client: Any) -> None:
    subscribe(URL)
    subscribe(URL)
    r = dufflebag_client.post(API, json={"url": URL, "events": ["user.signup"]},
                              as_role="admin")
    assert r.status_code == 409 and "limit of 2" in r.json()["error"]


def test_delete_removes_it_and_is_audited(subscribe: Callable[..., dict[str, Any]],
                                          dufflebag_client: Any, dufflebag_host: Any,
                                          dufflebag_users: Any) -> None:
    sub = subscribe(URL)
    assert dufflebag_client.delete(f"{API}/{sub['id']}", as_role="admin").status_code == 204
    assert dufflebag_client.get(API, as_role="admin").json() == {"subscriptions": []}
    assert dufflebag_client.delete(f"{API}/{sub['id']}", as_role="admin").status_code == 404
    audit = [(e.user_id, e.action, dict(e.metadata)) for e in dufflebag_host.audit_log
             if e.extension == "webhooks"]
    admin = dufflebag_users["admin"].id
    assert audit == [(admin, "webhooks.subscription_created", {"subscription": sub["id"]}),
                     (admin, "webhooks.subscription_deleted", {"subscription": sub["id"]})]
    assert sub["secret"] not in str(audit)


@pytest.mark.parametrize("sub_id", ["0" * 32, "not-an-id", "A" * 32])
@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("DELETE", ""),
                                                ("POST", "/enable"), ("POST", "/test"),
                                                ("GET", "/deliveries")])
def test_unknown_ids_answer_404(dufflebag_client: Any, sub_id: str, method: str,
                                suffix: str) -> None:
    r = dufflebag_client.request(method, f"{API}/{sub_id}{suffix}", as_role="manager")
    assert r.status_code == 404
    assert r.json() == {"error": f"no subscription {sub_id!r}"}
