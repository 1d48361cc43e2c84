"""Notes with tags. The second migration creates a table and an index; its down script
drops the index and forgets the table, so reverting a release leaves the table behind
and re-applying the migration fails."""

from __future__ import annotations

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Migration, Request, Response, Router


class Rogue(Extension):
    metadata = Metadata(
        name="sloppy_down",
        version="1.0.0",
        description="A down migration that drops the index but forgets the table",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/sloppy_down",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(1, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
                  "DROP TABLE notes"),
        Migration(2, "tags",
                  "CREATE TABLE tags (note_id INTEGER NOT NULL, tag TEXT NOT NULL);\n"
                  "CREATE INDEX tags_by_tag ON tags (tag)",
                  "DROP INDEX tags_by_tag"),  # <- the table stays
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "sloppy_down", "pong": True})
