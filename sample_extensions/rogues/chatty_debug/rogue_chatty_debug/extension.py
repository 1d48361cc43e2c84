"""Forwards platform events to a partner API (the forwarding itself is stubbed).

Debugging the integration was painful, so the extension logs "everything that
matters": the configuration it was given (including ``api_key``, which its
schema marks ``writeOnly``) and the headers of every request it serves
(including ``Authorization``). Both end up in the platform's logs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

log = logging.getLogger(__name__)

CONFIG_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "properties": {
        "endpoint": {"type": "string", "default": "https://partner.example.org/events"},
        "api_key": {"type": "string", "writeOnly": True, "minLength": 8},
    },
    "additionalProperties": False,
}


class Rogue(Extension):
    metadata = Metadata(
        name="chatty_debug",
        version="1.0.0",
        description="Forwards events to a partner API, with verbose debug logging",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/chatty_debug",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = CONFIG_SCHEMA
    default_config: Mapping[str, Any] = {"endpoint": "https://partner.example.org/events"}

    def __init__(self) -> None:
        self.settings: dict[str, Any] = {}
        self.queued = 0

    def apply_config(self, config: Mapping[str, Any]) -> None:
        self.settings = dict(config)
        log.info("chatty_debug configured: %s", self.settings)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/events", self.event, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "chatty_debug", "pong": True})

    async def event(self, request: Request) -> Response:
        self.services.logger.debug("event from %s headers=%s", request.client,
                                   dict(request.headers))
        self.queued += 1
        return JSONResponse({"queued": self.queued}, 202)
