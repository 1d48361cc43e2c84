"""Daily notes, archived as JSON files into a folder the operator can configure.

The folder setting is joined to the storage root here, with a guard meant to keep it
inside: the resolved folder must start with the storage root's path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    Services,
)


class Rogue(Extension):
    metadata = Metadata(
        name="archive_dir",
        version="1.0.0",
        description="Archives daily notes into a configurable folder of its storage",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/archive_dir",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "archive": {
                "type": "object",
                "properties": {"folder": {"type": "string", "minLength": 1}},
            },
            "title": {"type": "string", "enum": ["Notes", "Journal"]},
        },
    }
    default_config: Mapping[str, Any] = {"archive": {"folder": "archive"}, "title": "Notes"}

    def __init__(self) -> None:
        self.folder = "archive"
        self.notes: list[str] = []

    async def initialize(self, services: Services) -> None:
        self.services = services
        self.root = os.path.realpath(str(services.storage.root))  # type: ignore[attr-defined]

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.folder = str(config.get("archive", {}).get("folder", "archive"))

    def _archive_dir(self) -> str:
        target = os.path.realpath(os.path.join(self.root, self.folder))
        if not target.startswith(self.root):  # <- a sibling "<root>-x" passes too
            target = os.path.join(self.root, "archive")
        os.makedirs(target, exist_ok=True)
        return target

    def register_routes(self, router: Router) -> None:
        router.get("/notes", self.list_notes)
        router.post("/archive", self.archive, roles=["admin"])

    async def list_notes(self, request: Request) -> Response:
        return JSONResponse({"notes": self.notes})

    async def archive(self, request: Request) -> Response:
        path = os.path.join(self._archive_dir(), "notes.json")
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(self.notes, fh)
        user = request.user
        self.services.audit.record(user.id if user else None, "archive.write",
                                   {"count": len(self.notes)})
        return JSONResponse({"archived": len(self.notes)}, status_code=201)
