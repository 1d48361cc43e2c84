"""Jittered delays between a minimum and a maximum. apply_config checks the
cross-field rule (min <= max) that JSON Schema cannot express — but only
after it has already stored the new minimum."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import ConfigError, Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="half_apply",
        version="1.0.0",
        description="Waits a random delay between a configurable minimum and maximum",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/half_apply",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {
        "type": "object",
        "properties": {
            "min_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
            "max_ms": {"type": "integer", "minimum": 0, "maximum": 60000},
        },
        "additionalProperties": False,
    }
    default_config = {"min_ms": 100, "max_ms": 1000}

    def __init__(self) -> None:
        self.min_ms = 100
        self.max_ms = 1000

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.min_ms = int(config["min_ms"])  # <- the bug: assigned before the check
        if config["min_ms"] > config["max_ms"]:
            raise ConfigError("must not exceed max_ms", "$.min_ms")
        self.max_ms = int(config["max_ms"])

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "half_apply", "pong": True,
                             "range_ms": [self.min_ms, self.max_ms]})
