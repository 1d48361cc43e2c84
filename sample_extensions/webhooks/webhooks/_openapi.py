"""OpenAPI descriptions of the subscriptions API.

A promise to API clients and to the harness's fuzzer, which checks every
response against them: a response shape change starts here.
"""

from __future__ import annotations

from typing import Any

from webhooks._store import LOG_LIMIT
from webhooks._subscribe import EVENTS, MAX_DESCRIPTION, MAX_URL

__all__ = ["CREATE_DOC", "DELETE_DOC", "DELIVERIES_DOC", "ENABLE_DOC", "GET_DOC", "LIST_DOC",
           "PING_DOC", "TEST_DOC"]

_ERROR: dict[str, Any] = {
    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_SUBSCRIPTION: dict[str, Any] = {
    "type": "object",
    "required": ["id", "url", "events", "path_prefix", "description", "active",
                 "consecutive_failures", "disabled_reason", "created_by", "created_at"],
    "properties": {
        "id": {"type": "string"},
        "url": {"type": "string"},
        "events": {"type": "array", "items": {"enum": list(EVENTS)}},
        "path_prefix": {"type": "string"},
        "description": {"type": "string"},
        "active": {"type": "boolean"},
        "consecutive_failures": {"type": "integer", "minimum": 0},
        "disabled_reason": {"type": ["string", "null"]},
        "created_by": {"type": ["integer", "null"]},
        "created_at": {"type": "number"},
    },
    "not": {"required": ["secret"]},
}
_CREATED: dict[str, Any] = {
    **_SUBSCRIPTION,
    "required": [*_SUBSCRIPTION["required"], "secret"],
    "properties": {**_SUBSCRIPTION["properties"],
                   "secret": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
}
del _CREATED["not"]

_REFUSED = {
    "401": _json("No valid bearer token.", _ERROR),
    "403": _json("The user is neither admin nor manager.", _ERROR),
}
_ID = [{"name": "subscription_id", "in": "path", "required": True,
        "schema": {"type": "string"}}]
_MISSING = {"404": _json("No subscription with this id.", _ERROR)}

PING_DOC: dict[str, Any] = {
    "summary": "Liveness of the webhooks extension",
    "responses": {"200": _json("Always answers.", {
        "type": "object", "required": ["extension", "pong"],
        "properties": {"extension": {"const": "webhooks"}, "pong": {"const": True}},
    })},
}

CREATE_DOC: dict[str, Any] = {
    "summary": "Subscribe a URL to events; the answer shows the signing secret once",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["url", "events"],
        "properties": {
            "url": {"type": "string", "maxLength": MAX_URL,
                    "description": "http(s) URL on an allowed host, without credentials"},
            "events": {"type": "array", "minItems": 1, "uniqueItems": True,
                       "items": {"enum": list(EVENTS)}},
            "path_prefix": {"type": "string", "pattern": "^/",
                            "description": "request.completed only for paths under this"},
            "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
        },
        "additionalProperties": False,
    }}}},
    "responses": {
        "201": _json("Created; `secret` signs every delivery and is never shown again.",
                     _CREATED),
        "409": _json("The subscription limit (max_subscriptions) is reached.", _ERROR),
        "422": _json("The body is not a valid subscription; `error` names the field.", _ERROR),
        **_REFUSED,
    },
}

LIST_DOC: dict[str, Any] = {
    "summary": "Every subscription, oldest first (secrets are never listed)",
    "responses": {
        "200": _json("The subscriptions.", {
            "type": "object", "required": ["subscriptions"],
            "properties": {"subscriptions": {"type": "array", "items": _SUBSCRIPTION}},
        }),
        **_REFUSED,
    },
}

GET_DOC: dict[str, Any] = {
    "summary": "One subscription (without its secret)",
    "parameters": _ID,
    "responses": {"200": _json("The subscription.", _SUBSCRIPTION), **_MISSING, **_REFUSED},
}

DELETE_DOC: dict[str, Any] = {
    "summary": "Remove a subscription and its delivery log",
    "parameters": _ID,
    "responses": {"204": {"description": "Removed."}, **_MISSING, **_REFUSED},
}

ENABLE_DOC: dict[str, Any] = {
    "summary": "Re-activate a subscription and reset its failure count",
    "parameters": _ID,
    "responses": {"200": _json("The subscription, active.", _SUBSCRIPTION), **_MISSING,
                  **_REFUSED},
}

DELIVERIES_DOC: dict[str, Any] = {
    "summary": f"The latest {LOG_LIMIT} delivery attempts of a subscription, newest first",
    "parameters": _ID,
    "responses": {
        "200": _json("Attempts.", {
            "type": "object", "required": ["deliveries"],
            "properties": {"deliveries": {"type": "array", "maxItems": LOG_LIMIT, "items": {
                "type": "object",
                "required": ["delivery_id", "attempt", "event", "ok", "status_code", "error",
                             "duration_ms", "at"],
                "properties": {
                    "delivery_id": {"type": "string"},
                    "attempt": {"type": "integer", "minimum": 1},
                    "event": {"type": "string"},
                    "ok": {"type": "boolean"},
                    "status_code": {"type": ["integer", "null"]},
                    "error": {"type": ["string", "null"]},
                    "duration_ms": {"type": "number", "minimum": 0},
                    "at": {"type": "number"},
                },
            }}},
        }),
        **_MISSING,
        **_REFUSED,
    },
}

TEST_DOC: dict[str, Any] = {
    "summary": "Queue a `webhook.ping` delivery to this subscription (active or not)",
    "parameters": _ID,
    "responses": {
        "202": _json("Queued; see its attempts in the delivery log.", {
            "type": "object", "required": ["delivery_id"],
            "properties": {"delivery_id": {"type": "string"}},
        }),
        "503": _json("Deliveries are not running or their queue is full.", _ERROR),
        **_MISSING,
        **_REFUSED,
    },
}
