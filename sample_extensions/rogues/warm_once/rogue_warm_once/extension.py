"""A lookup table kept warm by a refresher thread shared by every instance.

The refresher is started by the first ``start()`` in the process ("one refresher is
enough for everyone") and is never stopped: ``stop()`` only drops this instance's
interest. Every later start finds it running and starts nothing.
"""

from __future__ import annotations

import threading

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

REFRESH_EVERY_S = 0.25
_TABLE: dict[str, int] = {"refreshes": 0}
_REFRESHER: list[threading.Thread] = []
_WAKE = threading.Event()


def _refresh_forever() -> None:
    while True:
        _WAKE.wait(REFRESH_EVERY_S)
        _TABLE["refreshes"] += 1


class Rogue(Extension):
    metadata = Metadata(
        name="warm_once",
        version="1.0.0",
        description="Keeps a lookup table warm with a refresher started at first start",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/warm_once",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def __init__(self) -> None:
        self._interested = False

    async def start(self) -> None:
        self._interested = True
        if not _REFRESHER:
            thread = threading.Thread(target=_refresh_forever, name="table-refresher",
                                      daemon=True)
            _REFRESHER.append(thread)
            thread.start()

    async def stop(self) -> None:
        self._interested = False

    def register_routes(self, router: Router) -> None:
        router.get("/table", self.table)

    async def table(self, request: Request) -> Response:
        return JSONResponse({"refreshes": _TABLE["refreshes"], "interested": self._interested})
