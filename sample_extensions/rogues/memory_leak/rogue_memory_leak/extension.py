"""CSV exports of page statistics, kept for re-download by export id.

The bug: exports live in a module-level dict with a time-to-live that is only
enforced on lookup. Each ``GET /exports/latest`` makes a new id, so nothing is
ever looked up again and nothing is ever evicted: memory grows with traffic.
"""

from __future__ import annotations

import time
import uuid

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

#: Rows per export; each export is about 128 KB of CSV text.
ROWS = 2048
TTL_S = 3600.0

_EXPORTS: dict[str, tuple[float, str]] = {}  # export id -> (created, csv)


def _render(seed: str) -> str:
    lines = ["path,views,visitors"]
    lines += [f"/page/{seed}/{i:06d},{i * 7 % 1000:>8},{i * 3 % 500:>8}" for i in range(ROWS)]
    return "\n".join(lines)


class Rogue(Extension):
    metadata = Metadata(
        name="memory_leak",
        version="1.0.0",
        description="CSV exports kept in memory for re-download, never expired",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/memory_leak",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)
        router.get("/exports/latest", self.latest)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "memory_leak", "pong": True})

    async def latest(self, request: Request) -> Response:
        export_id = uuid.uuid4().hex
        csv = _render(export_id)
        _EXPORTS[export_id] = (time.time(), csv)  # <- the bug: expired only on lookup
        return JSONResponse({"id": export_id, "bytes": len(csv), "rows": ROWS})

    def lookup(self, export_id: str) -> str | None:
        created, csv = _EXPORTS.get(export_id, (0.0, ""))
        if time.time() - created > TTL_S:
            _EXPORTS.pop(export_id, None)
            return None
        return csv
