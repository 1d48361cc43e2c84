"""Services handed to extensions: storage, cache, config, metrics, audit, logger."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import anyio
import pytest

from dufflebag_harness.inside.host.services import ExtensionLogger, MemoryCache, RootedStorage
from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Quotas,
    Request,
    Response,
    Services,
    StorageError,
)

from ._helpers import Echo, meta, run, serve


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../outside.txt", "'..'"),
        ("a/../../outside.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("a\x00b", "NUL"),
        ("a\\..\\b", "backslash"),
        ("", "non-empty"),
        (".", "leaves the storage root"),
    ],
)
def test_storage_refuses_paths_leaving_the_root(tmp_path: Path, path: str, why: str) -> None:
    storage = RootedStorage(tmp_path / "root")

    async def body() -> None:
        with pytest.raises(StorageError, match=why):
            await storage.write(path, b"x")
        with pytest.raises(StorageError, match=why):
            await storage.read(path)

    run(body())
    assert not (tmp_path / "outside.txt").exists()


def test_storage_refuses_symlinks_that_leave_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "key.txt").write_bytes(b"secret")
    root = tmp_path / "root"
    storage = RootedStorage(root)
    os.symlink(outside, root / "link")
    os.symlink(outside / "key.txt", root / "key-link.txt")

    async def body() -> None:
        for path in ("link/key.txt", "key-link.txt"):
            with pytest.raises(StorageError, match="leaves the storage root"):
                await storage.read(path)
        with pytest.raises(StorageError, match="leaves the storage root"):
            await storage.write("link/new.txt", b"x")
        (root / "inside").mkdir()
        os.symlink(root / "inside", root / "alias")
        await storage.write("alias/ok.txt", b"fine")  # a link that stays inside is fine
        assert await storage.read("inside/ok.txt") == b"fine"

    run(body())
    assert not (outside / "new.txt").exists()


def test_storage_round_trip_list_delete_and_quota(tmp_path: Path) -> None:
    storage = RootedStorage(tmp_path / "root", quota_bytes=10)

    async def body() -> None:
        await storage.write("a/one.txt", b"12345")
        await storage.write("b.txt", b"123")
        assert await storage.read("a/one.txt") == b"12345"
        assert await storage.list() == ["a/one.txt", "b.txt"]
        assert await storage.list("a/") == ["a/one.txt"]
        with pytest.raises(StorageError, match="quota"):
            await storage.write("c.txt", b"123")
        await storage.write("a/one.txt", b"1234567")  # replacing counts the new size only
        await storage.delete("b.txt")
        assert not await storage.exists("b.txt")
        with pytest.raises(StorageError, match="not found"):
            await storage.read("b.txt")
        with pytest.raises(StorageError, match="not found"):
            await storage.delete("b.txt")

    run(body())


def test_cache_expires_and_evicts() -> None:
    cache = MemoryCache(max_entries=2)

    async def body() -> None:
        await cache.set("short", 1, ttl=0.05)
        await cache.set("long", 2)
        assert await cache.get("short") == 1
        await anyio.sleep(0.08)
        assert await cache.get("short", "gone") == "gone"
        await cache.set("a", 3)
        await cache.set("b", 4)
        assert await cache.get("long") is None  # oldest evicted past max_entries
        with pytest.raises(ValueError, match="ttl"):
            await cache.set("x", 1, ttl=0)
        with pytest.raises(TypeError):
            await cache.get(1)  # type: ignore[arg-type]

    run(body())


class UsesServices(Extension):
    metadata = meta("usesvc")
    config_schema = {"type": "object", "properties": {"flag": {"type": "boolean"}}}

    services: Services

    def register_routes(self, router: Any) -> None:
        async def work(request: Request) -> Response:
            svc = self.services
            await svc.storage.write("notes/today.txt", b"hello")
            svc.metrics.inc("widgets", 2, kind="blue")
            svc.metrics.observe("latency", 0.3)
            svc.audit.record(7, "widget.created", {"colour": "blue"})
            svc.logger.info("made %d widgets", 2, password="hunter2", count=2)
            await svc.cache.set("k", "v")
            return JSONResponse({
                "config": dict(svc.config.all()),
                "cached": await svc.cache.get("k"),
                "files": await svc.storage.list(),
            })

        router.get("/work", work)


def test_services_are_scoped_to_the_extension(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    added = (UsesServices(), {"config": {"flag": True}, "quotas": Quotas(storage_mb=1)})
    other = (Echo("other"), {"config": {"secret": "theirs"}})

    async def body() -> None:
        async with serve(tmp_path, added, other) as (host, client):
            with caplog.at_level(logging.INFO, logger="dufflebag.ext"):
                r = await client.get("/ext/usesvc/work")
            assert r.json() == {"config": {"flag": True}, "cached": "v",
                                "files": ["notes/today.txt"]}
            assert (tmp_path / "store" / "usesvc" / "notes" / "today.txt").read_bytes() == b"hello"
            metrics = (await client.get("/metrics")).text
            assert 'dufflebag_ext_usesvc_widgets_total{extension="usesvc",kind="blue"} 2.0' in (
                metrics)
            assert 'dufflebag_extension_requests_total{extension="usesvc"} 1.0' in metrics
            entry = host.audit_log[-1]
            assert (entry.user_id, entry.action, entry.extension) == (7, "widget.created",
                                                                      "usesvc")
            assert entry.metadata == {"colour": "blue"}
            record = next(r for r in caplog.records if r.getMessage() == "made 2 widgets")
            assert record.extension == "usesvc"  # type: ignore[attr-defined]
            assert record.request_path == "/ext/usesvc/work"  # type: ignore[attr-defined]
            assert record.fields == {"password": "[redacted]", "count": 2}  # type: ignore[attr-defined]

    run(body())


def test_metric_names_and_kinds_are_checked(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, UsesServices()) as (host, _client):
            metrics = host.extension("usesvc").services.metrics
            metrics.inc("jobs")
            with pytest.raises(ValueError, match="is a counter"):
                metrics.gauge("jobs", 1.0)
            with pytest.raises(ValueError, match="must match"):
                metrics.inc("bad name")
            with pytest.raises(ValueError, match="label 'extension'"):
                metrics.inc("other", extension="spoof")

    run(body())


def test_audit_service_rejects_malformed_entries(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, UsesServices()) as (host, _client):
            audit = host.extension("usesvc").services.audit
            with pytest.raises(TypeError):
                audit.record("7", "x", {})  # type: ignore[arg-type]
            with pytest.raises(ValueError):
                audit.record(None, "", {})
            with pytest.raises(TypeError):
                audit.record(None, "x", ["not", "a", "mapping"])  # type: ignore[arg-type]

    run(body())


def test_logger_outside_a_request_still_names_the_extension(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = ExtensionLogger("solo")
    with caplog.at_level(logging.DEBUG, logger="dufflebag.ext.solo"):
        logger.warning("careful", api_key="abc", nested={"token": "t", "ok": 1})
    record = caplog.records[-1]
    assert record.extension == "solo"  # type: ignore[attr-defined]
    assert record.fields == {"api_key": "[redacted]",  # type: ignore[attr-defined]
                             "nested": {"token": "[redacted]", "ok": 1}}
    assert not hasattr(record, "request_path")
