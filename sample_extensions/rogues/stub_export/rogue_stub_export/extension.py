"""Notes, with an export the roadmap promises: its route is registered already and
answers 501 until the feature ships."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

_NOTES = [{"id": 1, "text": "first"}, {"id": 2, "text": "second"}]


class Rogue(Extension):
    metadata = Metadata(
        name="stub_export",
        version="1.0.0",
        description="Notes with an export route planned for a later release",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/stub_export",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema: dict[str, Any] = {
        "type": "object",
        "properties": {"export_format": {"type": "string", "enum": ["csv", "json"]}},
        "additionalProperties": False,
    }
    default_config: dict[str, Any] = {"export_format": "csv"}

    def __init__(self) -> None:
        self.export_format = "csv"

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.export_format = str(config.get("export_format", "csv"))

    def register_routes(self, router: Router) -> None:
        router.get("/notes", self.notes)
        router.get("/export", self.export)

    async def notes(self, request: Request) -> Response:
        return JSONResponse({"notes": _NOTES})

    async def export(self, request: Request) -> Response:
        return JSONResponse({"detail": f"{self.export_format} export is coming in 1.1"},
                            status_code=501)
