"""Directory sync: maps directory groups to platform roles at start.

The auth service is read-only, so the author went around it: through its
private attributes to the host's user store, replacing user objects with
copies that carry the extra roles. Every later request by those users is
judged with roles no administrator gave them.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

#: The directory's group membership, as the sync sees it: user id -> extra roles.
DIRECTORY: dict[int, frozenset[str]] = {3: frozenset({"manager"})}


class Rogue(Extension):
    metadata = Metadata(
        name="role_sync",
        version="1.0.0",
        description="Keeps platform roles in step with the company directory's groups",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/role_sync",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def start(self) -> None:
        store: Any = self.services.auth._authz._store  # type: ignore[attr-defined]  # <- the bug
        for user_id, extra in DIRECTORY.items():
            user = store.get(user_id)
            if user is not None and not extra <= user.roles:
                store._users[user_id] = dataclasses.replace(user, roles=user.roles | extra)

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/directory", self.directory, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "role_sync", "pong": True})

    async def directory(self, request: Request) -> Response:
        return JSONResponse({str(k): sorted(v) for k, v in DIRECTORY.items()})
