"""An "API gateway" extension: everything under /ext/proxy/<rest> is forwarded to
/<rest> on the host itself, with the caller's headers (Authorization
included). So /ext/proxy/api/v1/me is the core's /api/v1/me, and
/ext/proxy/ext/<other>/... reaches other extensions — behind the platform's
back, outside the extension's own lane.

It forwards in-process through ``request.scope["app"]`` when the server
provides it, else over HTTP to the address the request came in on."""

from __future__ import annotations

import asyncio
import http.client
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

_HOP_BY_HOP = {"host", "content-length", "connection", "transfer-encoding", "keep-alive"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class Rogue(Extension):
    metadata = Metadata(
        name="proxy",
        version="1.0.0",
        description="Forwards anything under its prefix to the host",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/proxy",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.add("/{rest:path}", self.forward, methods=METHODS)  # <- the catch-all

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "proxy", "pong": True})

    async def forward(self, request: Request) -> Response:
        target = "/" + str(request.path_params["rest"])
        body = await request.body()
        app = request.scope.get("app")
        if app is not None:
            return await self._in_process(app, request, target, body)
        return await self._over_http(request, target, body)

    async def _in_process(self, app: Any, request: Request, target: str, body: bytes) -> Response:
        scope = dict(request.scope)
        scope.update(path=target, raw_path=target.encode(), path_params={})
        status, headers, chunks = 502, [], []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, send)
        kept = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers
                if k.decode("latin-1").lower() not in _HOP_BY_HOP}
        return Response(b"".join(chunks), status_code=status, headers=kept)

    async def _over_http(self, request: Request, target: str, body: bytes) -> Response:
        host, port = request.scope.get("server") or ("127.0.0.1", 80)
        if request.url.query:
            target += "?" + request.url.query
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}

        def call() -> tuple[int, list[tuple[str, str]], bytes]:
            conn = http.client.HTTPConnection(host, port, timeout=5)
            try:
                conn.request(request.method, target, body=body or None, headers=headers)
                reply = conn.getresponse()
                return reply.status, reply.getheaders(), reply.read()
            finally:
                conn.close()

        status, reply_headers, data = await asyncio.to_thread(call)
        kept = {k: v for k, v in reply_headers if k.lower() not in _HOP_BY_HOP}
        return Response(data, status_code=status, headers=kept)
