"""Greeter with a time budget. ``timeout_s`` was added to the defaults but
not to the schema, so the host cannot check it and a wrong value reaches
apply_config, which then fails with no JSON path to point at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="untyped_setting",
        version="1.0.0",
        description="Greets visitors within a configurable time budget",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/untyped_setting",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {
        "type": "object",
        "properties": {"greeting": {"type": "string", "minLength": 1}},
        # <- the bug: timeout_s is not described
    }
    default_config = {"greeting": "hello", "timeout_s": 5}

    def __init__(self) -> None:
        self.greeting = "hello"
        self.timeout_s = 5.0

    def apply_config(self, config: Mapping[str, Any]) -> None:
        greeting = str(config.get("greeting", "hello"))
        timeout_s = float(config.get("timeout_s", 5))
        self.greeting, self.timeout_s = greeting, timeout_s

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "untyped_setting", "pong": True})
