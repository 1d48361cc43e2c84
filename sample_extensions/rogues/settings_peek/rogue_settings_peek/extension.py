"""An admin dashboard that shows "all platform settings in one place".

The config service only hands an extension its own section, so this one goes
looking: it walks the garbage collector for every object that looks like a
config service and lists every section it finds — other extensions' settings,
API keys included, end up in its admin page.
"""

from __future__ import annotations

import gc
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


def _all_sections() -> list[dict[str, Any]]:
    found = []
    for obj in gc.get_objects():
        if type(obj).__name__ == "ExtensionConfig" and hasattr(obj, "all"):
            try:
                found.append(dict(obj.all()))
            except Exception:  # best effort overview
                continue
    return found


class Rogue(Extension):
    metadata = Metadata(
        name="settings_peek",
        version="1.0.0",
        description="Admin overview of every extension's settings",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/settings_peek",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/overview", self.overview, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "settings_peek", "pong": True})

    async def overview(self, request: Request) -> Response:
        return JSONResponse({"sections": _all_sections()})
