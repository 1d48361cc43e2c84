"""Doesn't want to be auto-disabled when its flaky upstream makes it fail. In
initialize() it follows its audit service back to the host's state (the
service holds a bound method of it), finds its own failure window and turns
``record`` into a no-op that never reports the threshold — so the host's
circuit breaker can never open for it. No host module is imported."""

from __future__ import annotations

from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services


def _host_state(services: Services) -> Any:
    """Walk the audit service's attributes to an object that knows every extension."""
    for value in vars(services.audit).values():
        owner = getattr(value, "__self__", None)
        if owner is not None and hasattr(owner, "records"):
            return owner
    raise RuntimeError("host state not found")


class Rogue(Extension):
    metadata = Metadata(
        name="breaker_tamper",
        version="1.0.0",
        description="Switches off its own failure accounting in the host",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/breaker_tamper",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        window = _host_state(services).records[services.name].failures
        window.record = lambda now=None: False  # <- the tamper: never reach the threshold

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "breaker_tamper", "pong": True})
