"""The minimal core: storage upload/download, health, metrics, lifespan, static assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dufflebag_harness.inside.host
from dufflebag_harness.inside.host import HostOptions
from dufflebag_harness.sdk import Extension

from ._helpers import auth, meta, raw_request, run, serve


def test_public_names_are_pinned() -> None:
    assert set(dufflebag_harness.inside.host.__all__) == {
        "AuditEntry", "ExtensionState", "Host", "HostOptions", "SeedUser", "UnknownExtension",
    }


def test_storage_is_per_user_and_refuses_escapes(tmp_path: Path) -> None:
    async def body() -> None:
        options = HostOptions(max_upload_bytes=16)
        async with serve(tmp_path, options=options) as (host, client):
            r = await client.put("/api/v1/storage/docs/a.txt", content=b"mine",
                                 headers=auth("user"))
            assert r.status_code == 201 and r.json()["size"] == 4
            assert (await client.get("/api/v1/storage/docs/a.txt",
                                     headers=auth("user"))).content == b"mine"
            theirs = await client.get("/api/v1/storage/docs/a.txt", headers=auth("manager"))
            assert theirs.status_code == 404
            assert (await client.put("/api/v1/storage/x", content=b"1")).status_code == 401
            big = await client.put("/api/v1/storage/big.bin", content=b"x" * 17,
                                   headers=auth("user"))
            assert big.status_code == 413
            status, _ = await raw_request(
                host.app, "GET", b"/api/v1/storage/..%2f..%2fetc%2fpasswd",
                headers=[(b"authorization", auth("user")["Authorization"].encode())],
            )
            assert status == 400
            assert [e.action for e in host.audit_log] == ["storage.upload"]
        assert sorted(p.name for p in (tmp_path / "store").rglob("*") if p.is_file()) == [
            "a.txt"]

    run(body())


def test_health_and_metrics_need_no_token(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path) as (_host, client):
            assert (await client.get("/healthz")).json() == {"status": "ok", "extensions": {}}
            r = await client.get("/metrics")
            assert r.headers["content-type"].startswith("text/plain")
            assert "dufflebag_extension_requests" in r.text

    run(body())


def test_each_host_has_its_own_metrics_registry(tmp_path: Path) -> None:
    from ._helpers import Echo

    async def body() -> None:
        async with serve(tmp_path / "a", Echo()) as (_h1, one), \
                serve(tmp_path / "b", Echo()) as (_h2, two):
            await one.get("/ext/echo/ping")
            await one.get("/ext/echo/ping")
            await two.get("/ext/echo/ping")
            line = 'dufflebag_extension_requests_total{extension="echo"}'
            assert f"{line} 2.0" in (await one.get("/metrics")).text
            assert f"{line} 1.0" in (await two.get("/metrics")).text

    run(body())


def test_lifespan_is_acknowledged(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path) as (host, _client):
            incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return incoming.pop(0)

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await host.app({"type": "lifespan"}, receive, send)
            assert [m["type"] for m in sent] == [
                "lifespan.startup.complete", "lifespan.shutdown.complete"]

    run(body())


class WithAssets(Extension):
    metadata = meta("withassets")

    def static_assets(self) -> dict[str, str]:
        return {"static": "assets_ext"}


class MissingAssets(Extension):
    metadata = meta("noassets")

    def static_assets(self) -> dict[str, str]:
        return {"static": "does_not_exist"}


class RootAssets(Extension):
    metadata = meta("rootassets")

    def static_assets(self) -> dict[str, str]:
        return {"all": "/", "up": "../.."}


def test_static_assets_are_served_read_only_inside_their_folder(tmp_path: Path) -> None:
    async def body() -> None:
        exts = (WithAssets(), MissingAssets(), RootAssets())
        async with serve(tmp_path, *exts) as (host, client):
            r = await client.get("/ext/withassets/static/hello.txt")
            assert (r.status_code, r.text) == (200, "hello asset")
            assert (await client.get("/ext/withassets/static/nope.txt")).status_code == 404
            status, _ = await raw_request(host.app, "GET",
                                          b"/ext/withassets/static/..%2f..%2ftest_core.py")
            assert status == 400
            assert (await client.put("/ext/withassets/static/hello.txt")).status_code == 405
            assert host.load_errors["noassets"].startswith(
                "static asset folder 'does_not_exist'")
            assert "is outside the extension's package" in host.load_errors["rootassets"]
            assert (await client.get("/ext/rootassets/all/etc/passwd")).status_code == 404
            details = await client.get("/api/v1/extensions/withassets", headers=auth("user"))
            assert details.json()["assets"] == ["/ext/withassets/static/"]

    run(body())
