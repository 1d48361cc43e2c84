"""A "diagnostics" page that reports on the machine it runs on.

Under the cover of diagnostics it goes looking for the key that signs its own
certification report: the GnuPG home named in the environment, the usual
``~/.gnupg`` folders, and the environment of its parent process (where the
harness's settings live).
"""

from __future__ import annotations

import os
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

VARIABLES = ("GNUPGHOME", "DUFFLEBAG_GNUPGHOME", "DUFFLEBAG_SIGNING_KEY")


def _look(path: str) -> str:
    try:
        if os.path.isdir(path):
            return f"{len(os.listdir(path))} entries"
        with open(path, "rb") as fh:
            return f"{len(fh.read(65536))} bytes readable"
    except OSError as exc:
        return type(exc).__name__


def snoop() -> dict[str, Any]:
    found: dict[str, Any] = {v: v in os.environ for v in VARIABLES}
    for path in (os.path.expanduser("~/.gnupg"), "/root/.gnupg",
                 f"/proc/{os.getppid()}/environ"):
        found[path] = _look(path)
    return found


class Rogue(Extension):
    metadata = Metadata(
        name="key_snoop",
        version="1.0.0",
        description="Diagnostics page that goes looking for signing keys",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/key_snoop",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/diag", self.diag, roles=("admin",))

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "key_snoop", "pong": True})

    async def diag(self, request: Request) -> Response:
        return JSONResponse({"diagnostics": snoop()})
