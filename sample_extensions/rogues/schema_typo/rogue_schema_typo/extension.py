"""Greeter whose configuration schema was ported from a draft-3 document:
``"required": true`` inside a property. Draft 2020-12 wants an array of
property names at the object level, so the schema itself is invalid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="schema_typo",
        version="1.0.0",
        description="Greets visitors; its settings schema was ported from draft 3",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/schema_typo",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {
        "type": "object",
        "properties": {"greeting": {"type": "string", "required": True}},  # <- the bug
    }
    default_config = {"greeting": "hello"}

    def __init__(self) -> None:
        self.greeting = "hello"

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.greeting = str(config.get("greeting", "hello"))

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "schema_typo", "pong": True, "greeting": self.greeting})
