"""Partner API keys: issue a key, check a key.

Keys are kept as digests so a database leak does not leak keys — but the
digest is MD5, unsalted: fast to brute-force and broken for this purpose.
"""

from __future__ import annotations

import hashlib
import secrets

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router


def digest(key: str) -> str:
    return hashlib.md5(key.encode()).hexdigest()


class Rogue(Extension):
    metadata = Metadata(
        name="md5_keys",
        version="1.0.0",
        description="API keys for partners, stored as MD5 digests",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/md5_keys",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._digests: set[str] = set()

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.post("/keys", self.issue, roles=("admin",))
        router.get("/keys/check", self.check_key, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "md5_keys", "pong": True})

    async def issue(self, request: Request) -> Response:
        key = secrets.token_urlsafe(24)
        self._digests.add(digest(key))
        return JSONResponse({"issued": True}, 201)

    async def check_key(self, request: Request) -> Response:
        key = request.headers.get("x-partner-key", "")
        return JSONResponse({"valid": bool(key) and digest(key) in self._digests})
