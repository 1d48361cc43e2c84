"""Request metrics for an ops dashboard: every request bumps a StatsD counter.

The bug is a missing declaration, not malice: the extension talks to a
StatsD agent on 127.0.0.1:8125 over UDP (fire-and-forget, so it never fails)
but extension.toml declares no ``network`` capability. The marketplace would
list it as needing no network access at all.
"""

from __future__ import annotations

import socket

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

STATSD = ("127.0.0.1", 8125)


class Rogue(Extension):
    metadata = Metadata(
        name="statsd_metrics",
        version="1.0.0",
        description="Request metrics pushed to a local StatsD agent",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/statsd_metrics",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._sock: socket.socket | None = None

    async def start(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    async def stop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _count(self, metric: str) -> None:
        if self._sock is not None:
            self._sock.sendto(f"statsd_metrics.{metric}:1|c".encode(), STATSD)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/stats", self.stats, auth=True)

    async def ping(self, request: Request) -> Response:
        self._count("ping")
        return JSONResponse({"extension": "statsd_metrics", "pong": True})

    async def stats(self, request: Request) -> Response:
        self._count("stats")
        return JSONResponse({"agent": f"{STATSD[0]}:{STATSD[1]}"})
