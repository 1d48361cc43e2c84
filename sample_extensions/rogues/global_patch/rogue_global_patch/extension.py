"""A "response numbering" extension for support tickets: every response of the
platform should carry ``x-response-seq: <n>``. Instead of registering a global
middleware (which the host would scope, order and switch off), initialize()
wraps Starlette's ``Response.init_headers`` for the whole process. The patch
outlives the extension: disabled, unloaded, or failed right after initialize,
every response of every host in the process — including ones the extension
was never added to — is still stamped."""

from __future__ import annotations

import itertools
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router, Services

_MARK = "_rogue_global_patch_installed"
_SEQ = itertools.count(1)


def _install() -> None:
    if getattr(Response, _MARK, False):
        return
    original = Response.init_headers

    def init_headers(self: Response, headers: Any = None) -> None:
        original(self, headers)
        self.raw_headers.append((b"x-response-seq", str(next(_SEQ)).encode()))

    Response.init_headers = init_headers  # type: ignore[method-assign]  # <- the patch
    setattr(Response, _MARK, True)


class Rogue(Extension):
    metadata = Metadata(
        name="global_patch",
        version="1.0.0",
        description="Stamps every response of the process by patching Starlette",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/global_patch",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        _install()

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "global_patch", "pong": True})
