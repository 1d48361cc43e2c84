"""The vulnerable_dep rogue: one public route, a small notes API, its own table.

It has two third-party dependencies, declared in its ``pyproject.toml``: python-slugify
(a URL slug for every note) and tabulate (the notes as a plain-text table).

Everything the platform needs to know is declared on the class: metadata (equal
to ``extension.toml``), the configuration schema and defaults, the migrations
and, in ``register_routes``, the routes with the roles they require and the
responses they document (the harness fuzzes them and checks every answer).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from slugify import slugify
from leftpadder import pad
from tabulate import tabulate

from dufflebag_harness.sdk import (
    Extension,
    JSONResponse,
    Metadata,
    Migration,
    Request,
    Response,
    Router,
    current_user,
)

__all__ = ["CONFIG_SCHEMA", "DEFAULT_CONFIG", "Rogue"]

#: Roles admitted to the notes API: every signed-in, non-deleted user.
NOTE_ROLES = ("user", "manager", "admin")
#: How many notes ``GET /notes`` returns, newest first.
LIST_LIMIT = 50

CONFIG_SCHEMA: Mapping[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "greeting": {"type": "string", "minLength": 1, "maxLength": 80},
        "max_note_length": {"type": "integer", "minimum": 1, "maximum": 10000},
    },
    "additionalProperties": False,
}
DEFAULT_CONFIG: Mapping[str, Any] = {"greeting": "Hello", "max_note_length": 500}

MIGRATIONS = (
    Migration(
        version=1,
        description="notes: short texts written by signed-in users",
        up="""
            CREATE TABLE notes (
                id CHAR(32) PRIMARY KEY,
                author_id INTEGER NOT NULL,
                text TEXT NOT NULL,
                created_at DOUBLE PRECISION NOT NULL
            );
        """,
        down="DROP TABLE notes;",
    ),
)


def _json(description: str, schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
_NOTE = {
    "type": "object",
    "required": ["id", "author_id", "text", "created_at"],
    "properties": {
        "id": {"type": "string"},
        "author_id": {"type": "integer"},
        "text": {"type": "string"},
        "created_at": {"type": "number"},
        "slug": {"type": "string"},
    },
}
_REFUSED = {"401": _json("Not signed in.", _ERROR), "403": _json("Role not admitted.", _ERROR)}

HELLO_DOC: Mapping[str, Any] = {
    "summary": "The configured greeting",
    "responses": {"200": _json("Always answers.", {
        "type": "object", "required": ["message"], "properties": {"message": {"type": "string"}},
    })},
}
LIST_DOC: Mapping[str, Any] = {
    "summary": f"The latest {LIST_LIMIT} notes, newest first",
    "responses": {
        "200": _json("The notes.", {
            "type": "object", "required": ["notes"],
            "properties": {"notes": {"type": "array", "items": _NOTE},
                           "table": {"type": "string"}},
        }),
        **_REFUSED,
    },
}
CREATE_DOC: Mapping[str, Any] = {
    "summary": "Store a note",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1}},
    }}}},
    "responses": {
        "201": _json("Stored.", _NOTE),
        "422": _json("The body is not {\"text\": \"...\"} within the length limit.", _ERROR),
        **_REFUSED,
    },
}


class Rogue(Extension):
    """Notes with a configurable greeting."""

    metadata = Metadata(
        name="vulnerable_dep",
        version="0.1.0",
        description="Notes with slugs and a plain-text table",
        license="MIT",
        homepage="https://example.org/dufflebag/rogues/vulnerable_dep",
        host_api=">=1.0,<2",
    )
    config_schema = CONFIG_SCHEMA
    default_config = DEFAULT_CONFIG
    migrations = MIGRATIONS

    def __init__(self) -> None:
        self.settings: dict[str, Any] = dict(DEFAULT_CONFIG)

    def apply_config(self, config: Mapping[str, Any]) -> None:
        """Take a configuration whole; the host validated it against CONFIG_SCHEMA first.

        Called at load and on every hot reload. Raise ``dufflebag_harness.sdk.ConfigError``
        to refuse one: the host then keeps the previous configuration.
        """
        self.settings = {**DEFAULT_CONFIG, **config}

    def register_routes(self, router: Router) -> None:
        router.get("/hello", self.hello, name="hello", openapi=HELLO_DOC)
        router.get("/notes", self.list_notes, roles=NOTE_ROLES, name="list_notes",
                   openapi=LIST_DOC)
        router.post("/notes", self.create_note, roles=NOTE_ROLES, name="create_note",
                    openapi=CREATE_DOC)

    async def hello(self, request: Request) -> Response:
        return JSONResponse({"message": f"{self.settings['greeting']} from rogue_vulnerable_dep"})

    async def list_notes(self, request: Request) -> Response:
        rows = await self.services.database.fetch_all(
            "SELECT id, author_id, text, created_at FROM notes "
            "ORDER BY created_at DESC, id LIMIT :limit",
            {"limit": LIST_LIMIT},
        )
        table = tabulate([(n["text"], pad(str(n["author_id"]), 6)) for n in rows],
                         headers=("note", "author"))
        return JSONResponse({"notes": rows, "table": table})

    async def create_note(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body: expected JSON"}, 422)
        limit = self.settings["max_note_length"]
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not 1 <= len(text) <= limit:
            return JSONResponse({"error": f"text: expected 1 to {limit} characters"}, 422)
        user = current_user(request)
        note = {"id": uuid.uuid4().hex, "author_id": user.id if user else 0, "text": text,
                "created_at": time.time()}
        await self.services.database.execute(
            "INSERT INTO notes (id, author_id, text, created_at) "
            "VALUES (:id, :author_id, :text, :created_at)",
            note,
        )
        self.services.audit.record(note["author_id"], "vulnerable_dep.note_created", {"id": note["id"]})
        return JSONResponse({**note, "slug": slugify(text)}, 201)
