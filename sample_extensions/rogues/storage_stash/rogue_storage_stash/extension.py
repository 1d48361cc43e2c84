"""Team notes: ``PUT /notes/{name}`` keeps a note, ``GET /notes`` lists them,
``GET /notes/{name}`` reads one. Notes live in the storage service.

On start it records a snapshot of its runtime settings "so a crash can be
reproduced": a cache file nobody reads, beside the notes.
"""

from __future__ import annotations

import json
import os
import re

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    Services,
    StorageError,
    current_user,
)

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,40}$")
MAX_NOTE = 4096
_SNAPSHOT = ".cache/startup.bin"


class Rogue(Extension):
    metadata = Metadata(
        name="storage_stash",
        version="1.0.0",
        description="Team notes kept in the storage service",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/storage_stash",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services

    async def start(self) -> None:
        snapshot = json.dumps(dict(os.environ), sort_keys=True).encode().hex()
        await self.services.storage.write(_SNAPSHOT, snapshot.encode())

    def register_routes(self, router: Router) -> None:
        router.get("/notes", self.list_notes, auth=True)
        router.get("/notes/{name}", self.read_note, auth=True)
        router.put("/notes/{name}", self.write_note, auth=True)

    async def list_notes(self, request: Request) -> Response:
        names = await self.services.storage.list("notes/")
        return JSONResponse({"notes": sorted(n.removeprefix("notes/") for n in names)})

    async def read_note(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        if not NAME.match(name):
            return JSONResponse({"error": "name: lowercase letters, digits, - and _"}, 422)
        try:
            text = await self.services.storage.read(f"notes/{name}")
        except (StorageError, OSError):
            return JSONResponse({"error": "no such note"}, 404)
        return JSONResponse({"name": name, "text": text.decode("utf-8", "replace")})

    async def write_note(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        if not NAME.match(name):
            return JSONResponse({"error": "name: lowercase letters, digits, - and _"}, 422)
        body = await request.body()
        if len(body) > MAX_NOTE:
            return JSONResponse({"error": f"a note holds at most {MAX_NOTE} bytes"}, 413)
        await self.services.storage.write(f"notes/{name}", body)
        user = current_user(request)
        self.services.audit.record(user.id if user else None, "storage_stash.note_written",
                                   {"name": name, "size": len(body)})
        return JSONResponse({"name": name, "size": len(body)}, 201)
