"""Settings with a seed row recording when the schema was installed — computed when the
module is imported, so the migration's text (and checksum) differs in every process.
Applied once, it is refused as "edited" at the next start of the platform."""

from __future__ import annotations

from datetime import UTC, datetime

from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Migration, Request, Response, Router

INSTALLED_AT = datetime.now(UTC).isoformat()


class Rogue(Extension):
    metadata = Metadata(
        name="drifting_seed",
        version="1.0.0",
        description="A migration that embeds the time it was imported in its SQL",
        author="DuffleBagBase test rogues",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/drifting_seed",
        host_api=">=1.0,<2",
        tags=("rogue",),
    )
    migrations = (
        Migration(1, "settings",
                  "CREATE TABLE settings (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)",
                  "DROP TABLE settings"),
        Migration(2, "seed: installed_at",
                  "INSERT INTO settings (name, value) "
                  f"VALUES ('installed_at', '{INSTALLED_AT}')",  # <- new text every import
                  "DELETE FROM settings WHERE name = 'installed_at'"),
    )

    def register_routes(self, router: Router) -> None:
        router.get("/ping", self.ping)

    async def ping(self, request: Request) -> Response:
        return JSONResponse({"extension": "drifting_seed", "pong": True})
