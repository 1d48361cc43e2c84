"""Management API ``/api/v1/extensions``: list, details, enable/disable, health, metrics, config.

Reading needs an authenticated user; changing anything (and reading config
values, which may hold secrets) needs ``admin``. Every change is audited with
the acting user's id.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dufflebag_harness.inside.host._control import (
    UnknownExtension,
    check_health,
    lookup,
    reconfigure,
    set_enabled,
)
from dufflebag_harness.inside.host._core import BodyError, read_json
from dufflebag_harness.inside.host._faults import error_response
from dufflebag_harness.inside.host._registry import ExtensionRecord
from dufflebag_harness.sdk import NAME_PATTERN, ConfigError, ExtensionError, RouteSpec, current_user

if TYPE_CHECKING:
    from dufflebag_harness.inside.host._state import HostState

__all__ = ["ManagementAPI"]

_BASE = "/api/v1/extensions"
_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": NAME_PATTERN.pattern},
}


def _ok(description: str) -> dict[str, Any]:
    return {
        "200": {"description": description},
        "404": {"description": "No extension of that name"},
    }


def _named(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation on ``/{name}``: the parameter documented with the name pattern."""
    return {"parameters": [_NAME], **operation}


class ManagementAPI:
    """The management routes, closing over the host state."""

    def __init__(self, state: HostState) -> None:
        self._state = state

    def routes(self) -> tuple[RouteSpec, ...]:
        admin = ("admin",)
        tags = ["management"]
        return (
            RouteSpec(_BASE, self.list_all, ("GET",), auth=True, openapi={
                "summary": "List extensions", "tags": tags,
                "responses": {"200": {"description": "Extensions"}}}),
            RouteSpec(_BASE + "/{name}", self.details, ("GET",), auth=True, openapi=_named({
                "summary": "Extension details", "tags": tags, "responses": _ok("Details")})),
            RouteSpec(_BASE + "/{name}/enable", self.enable, ("POST",), roles=admin,
                      auth=True, openapi=_named({
                          "summary": "Enable (admin)", "tags": tags,
                          "responses": {**_ok("Enabled"), "409": {"description": "Not loaded"}}})),
            RouteSpec(_BASE + "/{name}/disable", self.disable, ("POST",), roles=admin,
                      auth=True, openapi=_named({
                          "summary": "Disable (admin)", "tags": tags,
                          "responses": {**_ok("Disabled"), "409": {"description": "Not loaded"}}})),
            RouteSpec(_BASE + "/{name}/health", self.health, ("GET",), auth=True, openapi=_named({
                "summary": "Extension health", "tags": tags, "responses": _ok("Health")})),
            RouteSpec(_BASE + "/{name}/metrics", self.metrics, ("GET",), auth=True, openapi=_named({
                "summary": "Extension request metrics", "tags": tags,
                "responses": _ok("Metrics")})),
            RouteSpec(_BASE + "/{name}/config", self.get_config, ("GET",), roles=admin,
                      auth=True, openapi=_named({
                          "summary": "Configuration (admin)", "tags": tags,
                          "responses": _ok("Configuration")})),
            RouteSpec(_BASE + "/{name}/config", self.put_config, ("PUT",), roles=admin,
                      auth=True, openapi=_named({
                          "summary": "Hot-reload configuration (admin)", "tags": tags,
                          "requestBody": {"required": True, "content": {
                              "application/json": {"schema": {"type": "object"}}}},
                          "responses": {**_ok("Applied"),
                                        "400": {"description": "Bad JSON"},
                                        "409": {"description": "Not loaded"},
                                        "422": {"description": "Invalid, old config kept"}}})),
        )

    def _record(self, request: Request) -> ExtensionRecord:
        return lookup(self._state, str(request.path_params["name"]))

    async def list_all(self, request: Request) -> Response:
        return JSONResponse(
            [
                {"name": rec.name, "version": rec.version, "state": rec.state.value}
                for rec in self._state.records.values()
            ]
        )

    async def details(self, request: Request) -> Response:
        try:
            rec = self._record(request)
        except UnknownExtension as exc:
            return error_response(404, str(exc))
        meta = rec.extension.metadata
        applied: list[dict[str, Any]] = []
        if rec.database is not None and rec.initialized:
            rows = await anyio.to_thread.run_sync(rec.database.applied)
            applied = [dataclasses.asdict(row) for row in rows]
        routes = rec.router.routes if rec.router is not None else ()
        prefix = f"/ext/{rec.name}"
        return JSONResponse(
            {
                "name": rec.name,
                "version": meta.version,
                "description": meta.description,
                "author": meta.author,
                "license": meta.license,
                "homepage": meta.homepage,
                "tags": list(meta.tags),
                "host_api": meta.host_api,
                "dependencies": dict(meta.dependencies),
                "state": rec.state.value,
                "load_error": rec.load_error,
                "disabled_reason": rec.disabled_reason,
                "routes": [
                    {
                        "path": prefix + spec.path,
                        "methods": list(spec.methods),
                        "auth": spec.auth,
                        "roles": list(spec.roles),
                        "permission": spec.permission,
                        "name": spec.name,
                    }
                    for spec in routes
                ],
                "refused_routes": list(rec.router.refused) if rec.router is not None else [],
                "middleware": [
                    {"name": m.name, "priority": m.priority, "paths": m.paths}
                    for m in rec.middleware
                ],
                "hooks": [
                    {"name": h.name, "type": str(h.type.value), "priority": h.priority,
                     "paths": h.paths}
                    for h in rec.hooks
                ],
                "counts": {
                    "routes": len(routes),
                    "middleware": len(rec.middleware),
                    "hooks": len(rec.hooks),
                },
                "assets": [f"{prefix}/{sub}/" for sub, _ in rec.static],
                "permissions": [
                    {"name": p.name, "resource": p.resource, "actions": list(p.actions)}
                    for p in rec.extension.permissions
                ],
                "roles": list(rec.extension.roles),
                "capabilities": sorted(str(c) for c in rec.capabilities),
                "quotas": dataclasses.asdict(rec.quotas),
                "config_schema": dict(rec.extension.config_schema),
                "migrations": applied,
                "failures": {"recent": rec.failures.recent, "total": rec.failures.total},
            }
        )

    async def _toggle(self, request: Request, enabled: bool) -> Response:
        user = current_user(request)
        name = str(request.path_params["name"])
        try:
            await anyio.to_thread.run_sync(
                set_enabled, self._state, name, enabled, user.id if user else None
            )
        except UnknownExtension as exc:
            return error_response(404, str(exc))
        except ExtensionError as exc:
            return error_response(409, str(exc))
        record = self._state.records[name]
        return JSONResponse({"name": name, "state": record.state.value})

    async def enable(self, request: Request) -> Response:
        return await self._toggle(request, True)

    async def disable(self, request: Request) -> Response:
        return await self._toggle(request, False)

    async def health(self, request: Request) -> Response:
        try:
            return JSONResponse(
                await check_health(self._state, str(request.path_params["name"]))
            )
        except UnknownExtension as exc:
            return error_response(404, str(exc))

    async def metrics(self, request: Request) -> Response:
        try:
            rec = self._record(request)
        except UnknownExtension as exc:
            return error_response(404, str(exc))
        snapshot = self._state.metrics.for_extension(rec.name).snapshot()
        snapshot.update(
            name=rec.name,
            state=rec.state.value,
            failures={"recent": rec.failures.recent, "total": rec.failures.total},
        )
        return JSONResponse(snapshot)

    async def get_config(self, request: Request) -> Response:
        try:
            rec = self._record(request)
        except UnknownExtension as exc:
            return error_response(404, str(exc))
        return JSONResponse({"name": rec.name, "config": rec.config})

    async def put_config(self, request: Request) -> Response:
        user = current_user(request)
        name = str(request.path_params["name"])
        try:
            lookup(self._state, name)
            body = await read_json(request, self._state.options.max_json_bytes)
            applied = await anyio.to_thread.run_sync(
                reconfigure, self._state, name, body, user.id if user else None
            )
        except UnknownExtension as exc:
            return error_response(404, str(exc))
        except BodyError as exc:
            return exc.response()
        except ConfigError as exc:
            return error_response(422, "invalid configuration", path=exc.path, detail=exc.reason)
        except ExtensionError as exc:
            return error_response(409, str(exc))
        return JSONResponse({"name": name, "config": applied})
