"""The OpenAPI document covers core, management and active extension routes, and loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dufflebag_harness.sdk import Extension, JSONResponse, Quotas, Request, Response

from ._helpers import Echo, meta, run, serve


class Documented(Extension):
    metadata = meta("documented")

    def register_routes(self, router: Any) -> None:
        async def item(request: Request) -> Response:
            return JSONResponse({"id": request.path_params["item_id"]})

        router.get("/items/{item_id:int}", item, roles=("manager",), openapi={
            "responses": {"200": {"description": "An item", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"id": {"type": "integer"}},
                           "required": ["id"]}}}}},
        })
        router.post("/open", item, name="open item")


def test_document_lists_every_route_with_auth(tmp_path: Path) -> None:
    async def body() -> None:
        added = (Documented(), {"quotas": Quotas(requests_per_second=5)})
        async with serve(tmp_path, added, Echo()) as (host, client):
            host.disable("echo")
            doc = (await client.get("/openapi.json")).json()
            assert doc["openapi"].startswith("3.1")
            paths = doc["paths"]
            for core in ("/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/me",
                         "/api/v1/storage/{path}", "/healthz", "/metrics", "/openapi.json",
                         "/api/v1/extensions", "/api/v1/extensions/{name}/config"):
                assert core in paths, core
            assert not any(p.startswith("/ext/echo/") for p in paths)  # disabled: not listed
            op = paths["/ext/documented/items/{item_id}"]["get"]
            assert op["security"] == [{"bearerAuth": []}]
            assert op["x-dufflebag-roles"] == ["manager"]
            assert {"200", "400", "401", "403", "429"} <= set(op["responses"])
            assert op["parameters"] == [{"name": "item_id", "in": "path", "required": True,
                                         "schema": {"type": "integer", "minimum": 0}}]
            assert op["responses"]["200"]["description"] == "An item"
            assert paths["/ext/documented/open"]["post"]["summary"] == "open item"
            ids = [o["operationId"] for p in paths.values() for o in p.values()]
            assert len(ids) == len(set(ids))

    run(body())


def test_document_is_loadable_by_schemathesis(tmp_path: Path) -> None:
    import schemathesis

    async def body() -> dict[str, Any]:
        async with serve(tmp_path, Documented()) as (_host, client):
            return dict((await client.get("/openapi.json")).json())

    document = run(body())
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    labels = {op.label for op in operations}
    assert "GET /ext/documented/items/{item_id}" in labels
    assert "PUT /api/v1/extensions/{name}/config" in labels
