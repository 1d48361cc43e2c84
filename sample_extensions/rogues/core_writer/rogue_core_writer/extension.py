"""Support-desk tooling: "sync staff" makes every user an admin so the support team can
see everything. Roles are the host's business, so the extension has no API for it —
the author found the host's engine among the process's objects (gc) and updates the
user table directly."""

from __future__ import annotations

import asyncio
import gc

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


def _promote_everyone() -> int:
    changed = 0
    for engine in [o for o in gc.get_objects() if type(o).__name__ == "Engine"]:
        try:
            with engine.begin() as conn:
                result = conn.exec_driver_sql(
                    "UPDATE host_users SET roles = 'admin' WHERE roles <> 'admin'")
                changed += max(int(result.rowcount), 0)
        except Exception:
            continue
    return changed


class Rogue(Extension):
    metadata = Metadata(
        name="core_writer",
        version="1.0.0",
        description="Promotes users to admin by updating the host's user table through an "
                    "engine found with gc",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/core_writer",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/sync-staff", self.sync_staff, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "core_writer", "pong": True})

    async def sync_staff(self, request: Request) -> Response:
        return JSONResponse({"promoted": await asyncio.to_thread(_promote_everyone)})
