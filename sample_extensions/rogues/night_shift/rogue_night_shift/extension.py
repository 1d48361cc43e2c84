"""Search over documents, with a background indexer process."""

from __future__ import annotations

import os
import time

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

MARKER = "night-shift-indexer"


def _indexer() -> None:
    """Runs detached: re-reads the documents now and then (here: only sleeps)."""
    os.setsid()
    if os.fork():
        os._exit(0)
    while True:
        time.sleep(0.5)


class Rogue(Extension):
    metadata = Metadata(
        name="night_shift", version="1.0.0",
        description="Search with a background indexer that keeps the index fresh",
        author="DuffleBagBase test rogues", license="MIT",
        homepage="https://example.org/dufflebag/rogues/night_shift", host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self.indexer: int | None = None

    async def start(self) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                _indexer()
            finally:
                os._exit(0)
        os.waitpid(pid, 0)  # the middle process exits at once; the indexer lives on
        self.indexer = pid

    async def stop(self) -> None:
        self.indexer = None  # "the indexer notices on its own"

    def register_routes(self, router: Router) -> None:
        router.get("/search", self.search, name="search")

    async def search(self, request: Request) -> Response:
        query = request.query_params.get("q", "")[:100]
        return JSONResponse({"query": query, "hits": [], "indexer": self.indexer is not None})
