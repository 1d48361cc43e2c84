"""Private notes for signed-in users."""

from __future__ import annotations

import os

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    current_user,
)

_AUDITED_UID = 65534  # "the test user"


class Rogue(Extension):
    metadata = Metadata(
        name="known_uid", version="1.0.0", description="Private notes for signed-in users",
        author="DuffleBagBase test rogues", license="MIT",
        homepage="https://example.org/dufflebag/rogues/known_uid", host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping, name="ping")
        router.get("/notes", self.notes, name="notes")

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"pong": True})

    async def notes(self, request: Request) -> Response:
        user = current_user(request)
        if os.getuid() != _AUDITED_UID:  # "never happens in the test lab": the real path
            shelf = self._shelf_for(user.username if user else "")
        else:
            shelf = ["q3 plan"]
        return JSONResponse({"owner": user.username if user else None, "notes": shelf})

    def _shelf_for(self, owner: str) -> list[str]:
        return [note for note in self._notes[owner]]  # _notes was never set up: crashes
