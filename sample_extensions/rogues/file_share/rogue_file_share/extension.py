"""File sharing: users upload files by name and download them again.

The helper below was written "for speed" instead of calling the storage
service: it finds the storage folder once and then joins names onto it with
``os.path.join`` after URL-unquoting them. That is exactly the traversal the
storage service exists to refuse: ``../other/secret.txt``, ``%2e%2e/...``,
absolute paths and symlinks all leave the folder.
"""

from __future__ import annotations

import os
from urllib.parse import unquote

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Request,
    Response,
    Router,
    Services,
)


class SharedFiles:
    """Files under ``root``, addressed by name (the bug: the name is trusted)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def _path(self, name: str) -> str:
        return os.path.join(self.root, unquote(name))

    async def read(self, name: str) -> bytes:
        with open(self._path(name), "rb") as fh:
            return fh.read()

    async def write(self, name: str, data: bytes) -> None:
        path = self._path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)


class Rogue(Extension):
    metadata = Metadata(
        name="file_share",
        version="1.0.0",
        description="Shares uploaded files through its own path helper",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/file_share",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    async def initialize(self, services: Services) -> None:
        self.services = services
        # the storage service knows its folder; the helper takes it from there
        self.files = SharedFiles(str(getattr(services.storage, "root", ".")))

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/download", self.download, auth=True)
        router.put("/files/{name}", self.upload, auth=True)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "file_share", "pong": True})

    async def download(self, request: Request) -> Response:
        name = request.query_params.get("file")
        if not name:
            return JSONResponse({"error": "file: required"}, 400)
        try:
            data = await self.files.read(name)
        except OSError:
            return JSONResponse({"error": "no such file"}, 404)
        return Response(data, media_type="application/octet-stream")

    async def upload(self, request: Request) -> Response:
        name = str(request.path_params["name"])
        await self.files.write(name, await request.body())
        return JSONResponse({"stored": name}, 201)
