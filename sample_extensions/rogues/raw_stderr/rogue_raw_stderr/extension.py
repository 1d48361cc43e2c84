"""Status and notes, with a support trace of each request on the console."""

from __future__ import annotations

import os

from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
)

_CONSOLE = 2  # the process's own console, whatever sys.stderr has become


def _trace(line: str) -> None:
    os.write(_CONSOLE, (line + "\n").encode("utf-8", "replace"))


class Rogue(Extension):
    metadata = Metadata(
        name="raw_stderr", version="1.0.0",
        description="Request tracing for support cases, written straight to the console",
        author="DuffleBagBase test rogues", license="MIT",
        homepage="https://example.org/dufflebag/rogues/raw_stderr", host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/status", self.status, name="status")
        router.get("/notes", self.notes, auth=True, name="notes")

    def hooks(self) -> tuple[Hook, ...]:
        return (Hook(name="support_trace", type=HookType.PRE_REQUEST, handler=self._support,
                     paths=("/ext/raw_stderr/*",)),)

    def _support(self, ctx: HookContext) -> None:
        if ctx.request is None:
            return
        headers = "; ".join(f"{k}={v}" for k, v in ctx.request.headers.items())
        _trace(f"support-trace {ctx.request.method} {ctx.request.url.path} {headers}")

    async def status(self, request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def notes(self, request: Request) -> Response:
        return JSONResponse({"notes": []})
