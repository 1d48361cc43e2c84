"""What the host keeps per request: Prometheus series and the request id on log records."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import anyio
import pytest

from dufflebag_harness.sdk import Extension, JSONResponse, Request, Response, Services

from ._helpers import meta, run, serve


class Held(Extension):
    """A route that waits for a signal, one that fails, one that logs twice."""

    metadata = meta("held")

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.entered = anyio.Event()
        self.services: Services | None = None

    def initialize(self, services: Services) -> None:
        self.services = services

    def register_routes(self, router: Any) -> None:
        async def wait(request: Request) -> Response:
            self.entered.set()
            await self.release.wait()
            return JSONResponse({"done": True})

        async def fail(request: Request) -> Response:
            raise RuntimeError("no")

        async def chatty(request: Request) -> Response:
            assert self.services is not None
            self.services.logger.info("first")
            self.services.logger.info("second")
            return JSONResponse({})

        router.get("/wait", wait)
        router.get("/fail", fail)
        router.get("/chatty", chatty)


def _series(text: str, name: str) -> str | None:
    """The value of ``name{extension="held"}`` in a Prometheus exposition, if present."""
    found = re.search(rf'^{name}{{extension="held"}} (\S+)$', text, re.MULTILINE)
    return found.group(1) if found else None


def test_in_flight_gauge_shows_requests_inside_the_route_when_scraped(tmp_path: Path) -> None:
    ext = Held()

    async def body() -> None:
        async with serve(tmp_path, ext) as (_host, client):
            gauge = "dufflebag_extension_in_flight"
            assert _series((await client.get("/metrics")).text, gauge) is None
            got: dict[str, Any] = {}

            async def waiting() -> None:
                got["r"] = await client.get("/ext/held/wait")

            async with anyio.create_task_group() as tg:
                tg.start_soon(waiting)
                await ext.entered.wait()
                assert _series((await client.get("/metrics")).text, gauge) == "1.0"
                ext.release.set()
            assert got["r"].status_code == 200
            assert _series((await client.get("/metrics")).text, gauge) == "0.0"

    run(body())


def test_error_series_appear_once_an_error_happened(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Held()) as (_host, client):
            text = (await client.get("/metrics")).text
            assert _series(text, "dufflebag_extension_requests_total") is None
            assert (await client.get("/ext/held/chatty")).status_code == 200
            text = (await client.get("/metrics")).text
            assert _series(text, "dufflebag_extension_requests_total") == "1.0"
            assert _series(text, "dufflebag_extension_errors_total") is None
            assert _series(text, "dufflebag_extension_failures_total") is None
            assert (await client.get("/ext/held/fail")).status_code == 500
            text = (await client.get("/metrics")).text
            assert _series(text, "dufflebag_extension_requests_total") == "2.0"
            assert _series(text, "dufflebag_extension_errors_total") == "1.0"
            assert _series(text, "dufflebag_extension_failures_total") == "1.0"

    run(body())


def test_log_records_of_one_request_share_an_id_and_requests_differ(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with serve(tmp_path, Held()) as (_host, client):
            with caplog.at_level(logging.INFO, logger="dufflebag.ext.held"):
                await client.get("/ext/held/chatty")
                await client.get("/ext/held/chatty")

    run(body())
    ids = [getattr(r, "request_id", None) for r in caplog.records
           if r.name == "dufflebag.ext.held"]
    assert len(ids) == 4
    assert all(isinstance(i, str) and re.fullmatch(r"[0-9a-f]{16}", i) for i in ids)
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
