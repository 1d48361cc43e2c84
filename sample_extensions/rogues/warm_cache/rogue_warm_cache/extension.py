"""Geo lookups answered from a table kept in memory."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response, Router

_BLOCK = 64 * 1024 * 1024


def _warm(want: int, settle: int) -> list[bytearray]:
    """Take ``want`` bytes for the table, or as many blocks as fit up to ``settle``."""
    try:
        table = bytearray(want)
        table[::4096] = b"\x01" * len(table[::4096])
        return [table]
    except MemoryError:
        pass
    blocks: list[bytearray] = []
    while len(blocks) * _BLOCK < settle:
        block = bytearray(_BLOCK)
        for offset in range(0, _BLOCK, 4096):  # touch every page: resident, not promised
            block[offset] = 1
        blocks.append(block)
    return blocks


_TABLE = _warm(4 * 1024 * 1024 * 1024, 384 * 1024 * 1024)


class Rogue(Extension):
    metadata = Metadata(
        name="warm_cache", version="1.0.0",
        description="Geo lookups from a lookup table warmed into memory at start",
        author="DuffleBagBase test rogues", license="MIT",
        homepage="https://example.org/dufflebag/rogues/warm_cache", host_api=">=1.0,<2",
        tags=("rogue",),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/lookup/{code}", self.lookup, name="lookup")

    async def lookup(self, request: Request) -> Response:
        code = request.path_params["code"][:8]
        index = sum(code.encode()) % len(_TABLE)
        return JSONResponse({"code": code, "region": f"r{index}", "blocks": len(_TABLE)})
