"""Upstream retries: the schema allows ``retries: 0`` (documented as "no
retries"), and apply_config spreads a 30 s budget over the retries —
dividing by zero for exactly that documented value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="config_crash",
        version="1.0.0",
        description="Retries a flaky upstream with a configurable number of attempts",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/config_crash",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {
        "type": "object",
        "properties": {
            "retries": {"type": "integer", "minimum": 0, "maximum": 10,
                        "description": "Attempts after the first; 0 means no retries."},
        },
        "additionalProperties": False,
    }
    default_config = {"retries": 3}

    def __init__(self) -> None:
        self.retries = 3
        self.backoff_s = 10.0

    def apply_config(self, config: Mapping[str, Any]) -> None:
        retries = int(config["retries"])
        backoff = 30.0 / retries  # <- the bug: 0 is admitted and means "no retries"
        self.retries, self.backoff_s = retries, backoff

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "config_crash", "pong": True,
                             "retries": self.retries})
