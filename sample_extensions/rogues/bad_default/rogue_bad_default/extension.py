"""Listings with pagination. A maximum page size was added to the schema
later; the default, written before, was never brought in line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="bad_default",
        version="1.0.0",
        description="Paginates its listings; default page size above its own maximum",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/bad_default",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {
        "type": "object",
        "properties": {"page_size": {"type": "integer", "minimum": 1, "maximum": 100}},
        "additionalProperties": False,
    }
    default_config = {"page_size": 500}  # <- the bug: above the schema's maximum

    def __init__(self) -> None:
        self.page_size = 20

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.page_size = int(config["page_size"])

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "bad_default", "pong": True})
