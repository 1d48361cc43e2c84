"""The dashboard API: who may read it, what it says, and that reads are audited."""

from __future__ import annotations

import time
from typing import Any

import jsonschema
import pytest
from analytics._store import PageView

SUMMARY = "/ext/analytics/summary"
TOP = "/ext/analytics/top-paths"


@pytest.mark.parametrize("path", [SUMMARY, TOP])
def test_only_admins_and_managers_read_the_dashboard(dufflebag_client: Any, path: str) -> None:
    assert dufflebag_client.get(path).status_code == 401
    assert dufflebag_client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    for role in ("user", "outsider", "deleted"):
        assert dufflebag_client.get(path, as_role=role).status_code == 403, role
    for role in ("admin", "manager"):
        assert dufflebag_client.get(path, as_role=role).status_code == 200, role


def test_ping_is_public(dufflebag_client: Any) -> None:
    r = dufflebag_client.get("/ext/analytics/ping")
    assert (r.status_code, r.json()) == (200, {"extension": "analytics", "pong": True})


def test_summary_counts_views_users_and_status_classes(
    dufflebag_client: Any, dufflebag_instance: Any, dufflebag_portal: Any
) -> None:
    dufflebag_client.get("/ext/analytics/ping", as_role="user")
    dufflebag_client.get("/ext/analytics/ping", as_role="user")
    dufflebag_client.get("/api/v1/me", as_role="manager")
    dufflebag_client.get("/missing")
    assert dufflebag_portal.call(dufflebag_instance.flush)
    body = dufflebag_client.get(SUMMARY, as_role="admin").json()
    assert body["total_views"] == 4
    assert body["unique_users"] == 2
    assert body["by_status_class"] == {"1xx": 0, "2xx": 3, "3xx": 0, "4xx": 1, "5xx": 0}
    assert body["avg_duration_ms"] >= 0
    assert body["dropped"] == 0


def test_summary_of_nothing(dufflebag_client: Any) -> None:
    body = dufflebag_client.get(SUMMARY, as_role="manager").json()
    assert body["total_views"] == 0 and body["avg_duration_ms"] is None


def test_top_paths_most_viewed_first_with_limit(
    dufflebag_client: Any, dufflebag_instance: Any, dufflebag_portal: Any
) -> None:
    for path, times in (("/a", 1), ("/b", 3), ("/c", 2)):
        for _ in range(times):
            dufflebag_client.get(path)
    assert dufflebag_portal.call(dufflebag_instance.flush)
    body = dufflebag_client.get(TOP, params={"limit": 2}, as_role="admin").json()
    assert body == {"limit": 2, "paths": [{"path": "/b", "views": 3, "errors": 0},
                                          {"path": "/c", "views": 2, "errors": 0}]}
    assert dufflebag_portal.call(dufflebag_instance.flush)
    default = dufflebag_client.get(TOP, as_role="admin").json()
    assert default["limit"] == 10
    # The first dashboard read was itself a page view; ties are listed by path.
    assert [(p["path"], p["views"]) for p in default["paths"]] == [
        ("/b", 3), ("/c", 2), ("/a", 1), (TOP, 1)]


def test_server_errors_are_counted_per_path(
    dufflebag_client: Any, dufflebag_instance: Any, dufflebag_portal: Any
) -> None:
    now = time.time()
    for status in (200, 500, 503):
        dufflebag_instance.recorder.submit(PageView(now, "GET", "/flaky", status, 1.0, None))
    assert dufflebag_portal.call(dufflebag_instance.flush)
    body = dufflebag_client.get(TOP, as_role="admin").json()
    assert body["paths"] == [{"path": "/flaky", "views": 3, "errors": 2}]


@pytest.mark.parametrize("limit", ["0", "101", "ten", "1.5", ""])
def test_bad_limit_is_refused_naming_the_parameter(dufflebag_client: Any, limit: str) -> None:
    r = dufflebag_client.get(TOP, params={"limit": limit}, as_role="admin")
    assert r.status_code == 422
    assert r.json()["error"].startswith("limit: must be an integer from 1 to 100")


def test_dashboard_reads_are_audited_with_the_reader(
    dufflebag_client: Any, dufflebag_host: Any, dufflebag_users: Any, dufflebag_portal: Any,
    dufflebag_instance: Any
) -> None:
    dufflebag_client.get(SUMMARY, as_role="manager")
    assert dufflebag_portal.call(dufflebag_instance.flush)  # that read is now one page view
    dufflebag_client.get(TOP, params={"limit": 5}, as_role="admin")
    dufflebag_client.get(SUMMARY, as_role="user")  # refused: not audited as a read
    mine = [(e.user_id, e.action, dict(e.metadata)) for e in dufflebag_host.audit_log
            if e.extension == "analytics"]
    assert mine == [
        (dufflebag_users["manager"].id, "analytics.view_summary", {"total_views": 0}),
        (dufflebag_users["admin"].id, "analytics.view_top_paths", {"limit": 5, "returned": 1}),
    ]


def test_responses_match_the_documented_schemas(dufflebag_client: Any) -> None:
    dufflebag_client.get("/somewhere")
    spec = dufflebag_client.get("/openapi.json").json()
    checked = 0
    for path, role, params in ((SUMMARY, "admin", {}), (TOP, "admin", {"limit": 3}),
                               (TOP, "admin", {"limit": 0}), (SUMMARY, None, {}),
                               (TOP, "user", {}), ("/ext/analytics/ping", None, {})):
        r = dufflebag_client.get(path, params=params, as_role=role)
        doc = spec["paths"][path]["get"]["responses"][str(r.status_code)]
        jsonschema.validate(r.json(), doc["content"]["application/json"]["schema"])
        checked += 1
    assert checked == 6
