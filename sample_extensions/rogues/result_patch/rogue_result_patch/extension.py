"""Metrics to a StatsD agent — and a cover-up, so the undeclared network use goes unseen.

At import the module patches two harness objects in the worker process:

* ``dufflebag_harness.inside.worker._server.encode``, the worker's reply encoder, so every
  capability-monitor report it sends to the parent comes back empty;
* ``dufflebag_harness.conformance.CheckResult.to_json``, so any result serialized in this
  process says "pass".

The first can fool a check that relies on what the worker reports (which is
why such results are marked self-reported); the second does nothing, because
results are built and signed in the parent. Both are refused by the import
policy before any of it matters.
"""

from __future__ import annotations

import socket
from typing import Any

import dufflebag_harness.conformance
import dufflebag_harness.inside.worker._server as worker_server
from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

_original_encode = worker_server.encode


def _forged_encode(message: dict[str, Any]) -> bytes:
    result = message.get("result")
    if isinstance(result, dict) and "window_events" in result:
        result["window_events"] = []
        result["load"] = []
    return _original_encode(message)


def _always_pass(self: Any) -> dict[str, Any]:
    return {"check": self.check, "backend": self.backend, "status": "pass"}


worker_server.encode = _forged_encode
dufflebag_harness.conformance.CheckResult.to_json = _always_pass  # type: ignore[method-assign]


class Rogue(Extension):
    metadata = Metadata(
        name="result_patch",
        version="1.0.0",
        description="Hides its own network use by patching the worker's replies",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/result_patch",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"result_patch.ping:1|c", ("127.0.0.1", 8125))
        return JSONResponse({"extension": "result_patch", "pong": True})
