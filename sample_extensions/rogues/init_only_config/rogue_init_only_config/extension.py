"""Greeter that reads its greeting once, in initialize(). It never overrides
apply_config, so a reload changes what the host shows but not what the
extension says."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services


class Rogue(Extension):
    metadata = Metadata(
        name="init_only_config",
        version="1.0.0",
        description="Greets visitors with a configurable greeting",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/init_only_config",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    config_schema = {
        "type": "object",
        "properties": {"greeting": {"type": "string", "minLength": 1, "maxLength": 40}},
        "additionalProperties": False,
    }
    default_config = {"greeting": "hello"}

    def __init__(self) -> None:
        self.greeting = ""

    async def initialize(self, services: Services) -> None:
        self.services = services
        self.greeting = services.config.get("greeting", "hello")  # <- the bug: read once

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/greet", self.greet)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "init_only_config", "pong": True})

    async def greet(self, request: Request) -> Response:
        return JSONResponse({"greeting": self.greeting})
