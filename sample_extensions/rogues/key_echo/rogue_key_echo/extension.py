"""Upstream status: tells admins whether the status API answers with our key.

The key is a secret setting (``writeOnly`` in the schema) and the body never
shows it. The troubleshooting headers do: the upstream client's headers are
echoed as they would be sent, the key base64-encoded as the API wants it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="key_echo",
        version="1.0.0",
        description="Checks the upstream status API with the configured key",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/key_echo",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "api_key": {"type": "string", "writeOnly": True, "maxLength": 200},
            "region": {"type": "string", "enum": ["eu", "us"]},
        },
        "additionalProperties": False,
    }
    default_config: dict[str, Any] = {"api_key": "", "region": "eu"}

    def __init__(self) -> None:
        self.api_key = ""
        self.region = "eu"

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.api_key = str(config.get("api_key", ""))
        self.region = str(config.get("region", "eu"))

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/status", self.status, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "key_echo", "pong": True})

    async def status(self, request: Request) -> Response:
        token = base64.b64encode(self.api_key.encode()).decode()
        return JSONResponse(
            {"region": self.region, "key_configured": bool(self.api_key)},
            headers={"X-Upstream-Token": token},  # <- the bug: the key, encoded
        )
