"""Webhook subscriptions, ported from the platform's webhooks API.

"Only admins and managers manage subscriptions; the signing secret is shown
once, when a subscription is created." The port kept the handlers and lost
the route options: no route says ``roles=``, and the list reads whole rows.
"""

from __future__ import annotations

import itertools
import secrets
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

_EVENT_NAMES = ["request.completed", "user.signup"]
_CREATE_DOC: dict[str, Any] = {
    "summary": "Subscribe a URL to events (admins and managers)",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["url", "events"],
        "properties": {"url": {"type": "string", "format": "uri"},
                       "events": {"type": "array", "minItems": 1,
                                  "items": {"enum": _EVENT_NAMES}}},
    }}}},
}


class Rogue(Extension):
    metadata = Metadata(
        name="open_webhooks",
        version="1.0.0",
        description="Webhook subscriptions for platform events (admins and managers only)",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/open_webhooks",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._hooks: dict[int, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        # <- the bug: "admins and managers only", and not one route says roles=
        router.post("/hooks", self.create, openapi=_CREATE_DOC)
        router.get("/hooks", self.list_all)
        router.delete("/hooks/{hook_id:int}", self.delete)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "open_webhooks", "pong": True})

    async def create(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not str(body.get("url", "")).startswith("http"):
            return JSONResponse({"error": "$.url: an http(s) URL is required"}, status_code=422)
        events = body.get("events")
        if not isinstance(events, list) or not events or not set(events) <= set(_EVENT_NAMES):
            return JSONResponse({"error": "$.events: known event names"}, status_code=422)
        hook = {"id": next(self._ids), "url": body["url"], "events": sorted(events),
                "secret": secrets.token_hex(32)}
        self._hooks[hook["id"]] = hook
        self._audit(request, "open_webhooks.created", hook["id"])
        return JSONResponse(hook, status_code=201)

    async def list_all(self, request: Request) -> Response:
        return JSONResponse({"hooks": list(self._hooks.values())})  # <- secrets included

    async def delete(self, request: Request) -> Response:
        hook_id = int(request.path_params["hook_id"])
        if self._hooks.pop(hook_id, None) is None:
            return JSONResponse({"error": f"no hook {hook_id}"}, status_code=404)
        self._audit(request, "open_webhooks.deleted", hook_id)
        return Response(status_code=204)

    def _audit(self, request: Request, action: str, hook_id: int) -> None:
        user = current_user(request)
        self.services.audit.record(user.id if user else None, action, {"hook": hook_id})
