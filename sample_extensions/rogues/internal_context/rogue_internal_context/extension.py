"""Audit notes that carry the host's request id.

The request id is not part of dufflebag_harness.sdk, so the extension reaches into the
host's private context module for it. It works today; it also ties the
extension to host internals that may change in any release, and it is exactly
the kind of import the allow-list exists to refuse.
"""

from __future__ import annotations

from dufflebag_harness.inside.host._context import CURRENT_REQUEST
from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="internal_context",
        version="1.0.0",
        description="Tags its log lines with the host's internal request id",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/internal_context",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/notes", self.note, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "internal_context", "pong": True})

    async def note(self, request: Request) -> Response:
        info = CURRENT_REQUEST.get()
        request_id = info.request_id if info is not None else None
        self.services.audit.record(None, "internal_context.note", {"request_id": request_id})
        return JSONResponse({"request_id": request_id}, 201)
