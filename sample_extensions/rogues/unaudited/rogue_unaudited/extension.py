"""Shared notes: signed-in users add notes, admins delete them. Nothing it does
reaches the platform's audit trail — the author logged to the extension's
own logger and thought that was enough."""

from __future__ import annotations

import itertools

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="unaudited",
        version="1.0.0",
        description="Shared notes for signed-in users",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/unaudited",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._notes: dict[int, str] = {}
        self._ids = itertools.count(1)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/notes", self.list_notes, auth=True)
        router.post("/notes", self.add_note, auth=True)
        router.delete("/notes/{note_id:int}", self.delete_note, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "unaudited", "pong": True})

    async def list_notes(self, request: Request) -> Response:
        return JSONResponse({str(k): v for k, v in self._notes.items()})

    async def add_note(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = {}
        text = str(body.get("text", "")) if isinstance(body, dict) else ""
        note_id = next(self._ids)
        self._notes[note_id] = text
        self.services.logger.info("note %s added", note_id)  # <- the bug: no audit record
        return JSONResponse({"id": note_id}, status_code=201)

    async def delete_note(self, request: Request) -> Response:
        removed = self._notes.pop(int(request.path_params["note_id"]), None)
        self.services.logger.info("note deleted: %s", removed is not None)
        return JSONResponse({"deleted": removed is not None})
