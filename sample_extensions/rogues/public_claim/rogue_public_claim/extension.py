"""A feedback box: visitors post feedback without an account, admins read it.

Visitors can also withdraw what they posted, "with the id we showed them" —
a route the author thought the public declaration of ``/feedback`` covered.
"""

from __future__ import annotations

import itertools
from typing import Any

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    current_user,
)

_FEEDBACK_DOC: dict[str, Any] = {
    "summary": "Leave feedback (public, declared in extension.toml)",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 2000}},
    }}}},
}


class Rogue(Extension):
    metadata = Metadata(
        name="public_claim",
        version="1.0.0",
        description="A feedback box for the public site",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/public_claim",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._items: dict[int, str] = {}
        self._ids = itertools.count(1)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/feedback", self.leave, openapi=_FEEDBACK_DOC)  # declared public
        router.get("/feedback", self.read_all, roles=("admin",))
        router.delete("/feedback/{item_id:int}", self.withdraw)  # <- the bug: undeclared

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "public_claim", "pong": True})

    async def leave(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return JSONResponse({"error": "$.text: required"}, status_code=422)
        item_id = next(self._ids)
        self._items[item_id] = text[:2000]
        self._audit(request, "public_claim.left", item_id)
        return JSONResponse({"id": item_id}, status_code=201)

    async def read_all(self, request: Request) -> Response:
        return JSONResponse({"feedback": [{"id": k, "text": v} for k, v in self._items.items()]})

    async def withdraw(self, request: Request) -> Response:
        item_id = int(request.path_params["item_id"])
        if self._items.pop(item_id, None) is None:
            return JSONResponse({"error": f"no feedback {item_id}"}, status_code=404)
        self._audit(request, "public_claim.withdrawn", item_id)
        return Response(status_code=204)

    def _audit(self, request: Request, action: str, item_id: int) -> None:
        user = current_user(request)
        self.services.audit.record(user.id if user else None, action, {"item": item_id})
