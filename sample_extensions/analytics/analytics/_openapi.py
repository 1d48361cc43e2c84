"""OpenAPI descriptions of the dashboard routes.

Kept next to nothing else on purpose: these schemas are a promise to API
clients and to the harness's fuzzer, which checks every response against them.
A response shape change starts here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "PING_DOC", "SUMMARY_DOC", "TOP_PATHS_DOC"]

DEFAULT_LIMIT = 10
MAX_LIMIT = 100

_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_REFUSED = {
    "401": _json("No valid bearer token.", _ERROR),
    "403": _json("The user is neither admin nor manager.", _ERROR),
}

PING_DOC: dict[str, Any] = {
    "summary": "Liveness of the analytics extension",
    "responses": {
        "200": _json("Always answers.", {
            "type": "object",
            "required": ["extension", "pong"],
            "properties": {"extension": {"const": "analytics"}, "pong": {"const": True}},
        }),
    },
}

SUMMARY_DOC: dict[str, Any] = {
    "summary": "Totals over the recorded page views still kept",
    "responses": {
        "200": _json("Totals; views still queued are counted in `pending`.", {
            "type": "object",
            "required": ["total_views", "unique_users", "avg_duration_ms", "by_status_class",
                         "pending", "dropped"],
            "properties": {
                "total_views": {"type": "integer", "minimum": 0},
                "unique_users": {"type": "integer", "minimum": 0},
                "avg_duration_ms": {"type": ["number", "null"], "minimum": 0},
                "by_status_class": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 0},
                },
                "pending": {"type": "integer", "minimum": 0},
                "dropped": {"type": "integer", "minimum": 0},
            },
        }),
        **_REFUSED,
    },
}

TOP_PATHS_DOC: dict[str, Any] = {
    "summary": "Most viewed paths over all daily roll-ups",
    "parameters": [{
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"How many paths to list (1 to {MAX_LIMIT}).",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                   "default": DEFAULT_LIMIT},
    }],
    "responses": {
        "200": _json("Paths, most viewed first.", {
            "type": "object",
            "required": ["limit", "paths"],
            "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                "paths": {
                    "type": "array",
                    "maxItems": MAX_LIMIT,
                    "items": {
                        "type": "object",
                        "required": ["path", "views", "errors"],
                        "properties": {
                            "path": {"type": "string"},
                            "views": {"type": "integer", "minimum": 0},
                            "errors": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        }),
        "422": _json("`limit` is not an integer from 1 to 100.", _ERROR),
        **_REFUSED,
    },
}
