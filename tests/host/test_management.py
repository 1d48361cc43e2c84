"""The management API: who may do what, and what it shows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.inside.host import HostOptions
from dufflebag_harness.sdk import (
    Extension,
    Health,
    HealthStatus,
    Hook,
    HookType,
    JSONResponse,
    Middleware,
    Permission,
    Request,
    Response,
)

from ._helpers import Echo, auth, meta, run, serve


class Described(Extension):
    metadata = meta("described", version="2.1.0", description="A described extension",
                    dependencies={"echo": ">=1"}, tags=("demo",))
    permissions = (Permission("described.read", "things", ("read",)),)

    def register_routes(self, router: Any) -> None:
        async def ok(request: Request) -> Response:
            return JSONResponse({})

        router.get("/open", ok)
        router.add("/things", ok, methods=("GET", "POST"), roles=("manager",), name="things")

    def middleware(self) -> list[Middleware]:
        return [Middleware("noop", lambda app: app, priority=5, paths=("/ext/described/*",))]

    def hooks(self) -> list[Hook]:
        return [Hook("noop", HookType.POST_REQUEST, lambda ctx: None)]

    async def health(self) -> HealthStatus:
        return HealthStatus(Health.DEGRADED, {"cache": "cold"}, "warming up")


@pytest.mark.parametrize(
    ("method", "path", "anon", "user", "admin"),
    [
        ("GET", "/api/v1/extensions", 401, 200, 200),
        ("GET", "/api/v1/extensions/described", 401, 200, 200),
        ("GET", "/api/v1/extensions/described/health", 401, 200, 200),
        ("GET", "/api/v1/extensions/described/metrics", 401, 200, 200),
        ("GET", "/api/v1/extensions/described/config", 401, 403, 200),
        ("POST", "/api/v1/extensions/described/disable", 401, 403, 200),
        ("POST", "/api/v1/extensions/described/enable", 401, 403, 200),
        ("GET", "/api/v1/extensions/nosuch", 401, 404, 404),
        ("POST", "/api/v1/extensions/nosuch/disable", 401, 403, 404),
    ],
)
def test_access_rules(
    tmp_path: Path, method: str, path: str, anon: int, user: int, admin: int
) -> None:
    async def body() -> None:
        async with serve(tmp_path, Described(), Echo()) as (_host, client):
            assert (await client.request(method, path)).status_code == anon
            assert (await client.request(method, path, headers=auth("user"))).status_code == user
            assert (await client.request(method, path, headers=auth("admin"))).status_code == (
                admin)

    run(body())


def test_details_show_what_the_platform_requires(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Described(), Echo()) as (_host, client):
            listed = (await client.get("/api/v1/extensions", headers=auth("user"))).json()
            assert listed == [
                {"name": "described", "version": "2.1.0", "state": "active"},
                {"name": "echo", "version": "1.0.0", "state": "active"},
            ]
            d = (await client.get("/api/v1/extensions/described", headers=auth("user"))).json()
            assert d["description"] == "A described extension"
            assert d["dependencies"] == {"echo": ">=1"}
            assert d["routes"] == [
                {"path": "/ext/described/open", "methods": ["GET"], "auth": False, "roles": [],
                 "permission": None, "name": ""},
                {"path": "/ext/described/things", "methods": ["GET", "POST"], "auth": True,
                 "roles": ["manager"], "permission": None, "name": "things"},
            ]
            assert d["counts"] == {"routes": 2, "middleware": 1, "hooks": 1}
            assert d["middleware"] == [{"name": "noop", "priority": 5,
                                        "paths": ["/ext/described/*"]}]
            assert d["hooks"][0]["type"] == "post_request"
            assert d["permissions"] == [{"name": "described.read", "resource": "things",
                                         "actions": ["read"]}]
            assert d["quotas"]["concurrent_requests"] == 32
            assert d["state"] == "active" and d["load_error"] is None

    run(body())


def test_health_metrics_and_audited_toggles(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Described(), Echo()) as (host, client):
            h = (await client.get("/api/v1/extensions/described/health",
                                  headers=auth("user"))).json()
            assert h == {"name": "described", "state": "active", "status": "degraded",
                         "checks": {"cache": "cold"}, "message": "warming up"}
            for _ in range(4):
                await client.get("/ext/described/open")
            m = (await client.get("/api/v1/extensions/described/metrics",
                                  headers=auth("user"))).json()
            assert m["requests"] == 4 and m["errors"] == 0 and m["in_flight"] == 0
            assert m["latency_ms"]["samples"] == 4
            assert 0 < m["latency_ms"]["p50"] <= m["latency_ms"]["p95"]
            r = await client.post("/api/v1/extensions/described/disable", headers=auth("admin"))
            assert r.json() == {"name": "described", "state": "disabled"}
            assert (await client.get("/ext/described/open")).status_code == 404
            entry = host.audit_log[-1]
            assert (entry.user_id, entry.action, entry.extension) == (
                1, "extension.disable", None)
            assert entry.metadata["extension"] == "described"
            h = (await client.get("/api/v1/extensions/described/health",
                                  headers=auth("user"))).json()
            assert h["state"] == "disabled"

    run(body())


def test_health_that_hangs_reports_unhealthy(tmp_path: Path) -> None:
    import anyio

    class Hanging(Echo):
        async def health(self) -> HealthStatus:
            await anyio.sleep(30)
            return HealthStatus()

    async def body() -> None:
        options = HostOptions(lifecycle_timeout_s=0.2)
        async with serve(tmp_path, Hanging("hanging"), options=options) as (_host, client):
            h = (await client.get("/api/v1/extensions/hanging/health",
                                  headers=auth("user"))).json()
            assert h["status"] == "unhealthy"
            assert h["message"] == "health timed out after 0.2s"

    run(body())
