"""The host's OpenAPI 3.1 document: core, management and every active extension route.

Each route's ``openapi`` mapping is merged into its operation; the host adds
what it enforces itself (path parameters, bearer security with 401/403 for
protected routes, 400 for refused paths, 429 under a rate limit), so API
fuzzing judges the extension against the answers the host can really give.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

import dufflebag_harness
from dufflebag_harness.inside.host._options import ExtensionState
from dufflebag_harness.sdk import RouteSpec

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["OpenAPI"]

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
_TYPES: dict[str, dict[str, Any]] = {
    "str": {"type": "string", "minLength": 1},
    "path": {"type": "string", "minLength": 1},
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
}
_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _operation_id(owner: str, method: str, template: str) -> str:
    slug = re.sub(r"[^a-zA-Z0-9]+", "_", _PARAM.sub(r"by_\1", template)).strip("_")
    return f"{owner}_{method.lower()}_{slug}"


def _operation(
    spec: RouteSpec, template: str, method: str, owner: str, rate_limited: bool
) -> dict[str, Any]:
    extra = copy.deepcopy(dict(spec.openapi))
    op: dict[str, Any] = {
        "operationId": _operation_id(owner, method, template),
        "tags": [owner],
    }
    if spec.name:
        op["summary"] = spec.name
    responses: dict[str, Any] = dict(extra.pop("responses", None) or {})
    params: list[Any] = list(extra.pop("parameters", None) or [])
    op.update(extra)
    declared = {(p.get("name"), p.get("in")) for p in params if isinstance(p, Mapping)}
    found = _PARAM.findall(template)
    for name, conv in found:
        if (name, "path") not in declared:
            params.append(
                {"name": name, "in": "path", "required": True,
                 "schema": dict(_TYPES.get(conv or "str", {"type": "string"}))}
            )
    if params:
        op["parameters"] = params
    if not any(str(code).startswith("2") for code in responses):
        responses["200"] = {"description": "OK"}
    if found:
        responses.setdefault("400", _error("Path refused by the host (encoded or dot segments)"))
    if spec.auth:
        op["security"] = [{"bearerAuth": []}]
        op["x-dufflebag-auth"] = True
        op["x-dufflebag-roles"] = list(spec.roles)
        if spec.permission:
            op["x-dufflebag-permission"] = spec.permission
        responses.setdefault("401", _error("Authentication required"))
        responses.setdefault("403", _error("Forbidden for this user"))
    else:
        op.setdefault("security", [])
    if rate_limited:
        responses.setdefault("429", _error("Rate limit exceeded"))
    op["responses"] = responses
    return op


class OpenAPI:
    """Builds the document on request from the live route table."""

    def __init__(self, state: HostState) -> None:
        self._state = state

    def route(self) -> RouteSpec:
        return RouteSpec("/openapi.json", self.endpoint, ("GET",), openapi={
            "summary": "This OpenAPI document", "tags": ["core"],
            "responses": {"200": {"description": "OpenAPI 3.1 document"}},
        })

    async def endpoint(self, request: Request) -> Response:
        return JSONResponse(self.document())

    def document(self) -> dict[str, Any]:
        state = self._state
        paths: dict[str, dict[str, Any]] = {}

        def add(spec: RouteSpec, template: str, owner: str, rate_limited: bool) -> None:
            item = paths.setdefault(_PARAM.sub(r"{\1}", template), {})
            for method in spec.methods:
                item[method.lower()] = _operation(spec, template, method, owner, rate_limited)

        for spec in state.core_routes:
            owner = "management" if spec.path.startswith("/api/v1/extensions") else "core"
            add(spec, spec.path, owner, False)
        for record in state.records.values():
            if record.state is not ExtensionState.ACTIVE or record.router is None:
                continue
            limited = record.quotas.requests_per_second > 0
            for spec in record.router.routes:
                add(spec, record.router.full_path(spec), record.name, limited)
        tags = [{"name": "core"}, {"name": "management"}] + [
            {"name": r.name, "description": r.extension.metadata.description}
            for r in state.records.values()
            if r.state is ExtensionState.ACTIVE
        ]
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "DuffleBagBase reference host",
                "version": dufflebag_harness.HOST_API_VERSION,
                "description": f"dufflebag-harness {dufflebag_harness.__version__}",
            },
            "tags": tags,
            "paths": paths,
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
            },
        }
