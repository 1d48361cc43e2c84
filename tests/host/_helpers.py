"""Helpers for driving a host in tests: seeded users, a client, raw ASGI requests."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import httpx

from dufflebag_harness.inside.db.sqlite import SqliteProvider
from dufflebag_harness.inside.host import Host, HostOptions, SeedUser
from dufflebag_harness.sdk import Extension, JSONResponse, Metadata, Request, Response

T = TypeVar("T")

TOKENS = {
    "admin": "tok-admin-0001",
    "manager": "tok-manager-0002",
    "user": "tok-user-0003",
    "deleted": "tok-deleted-0004",
    "outsider": "tok-outsider-0005",
}
USERS = (
    SeedUser(1, "admin", frozenset({"admin"}), TOKENS["admin"]),
    SeedUser(2, "manager", frozenset({"manager"}), TOKENS["manager"]),
    SeedUser(3, "user", frozenset({"user"}), TOKENS["user"]),
    # deleted wins over every other role it still carries
    SeedUser(4, "deleted", frozenset({"deleted", "admin", "user"}), TOKENS["deleted"]),
    SeedUser(5, "outsider", frozenset(), TOKENS["outsider"]),
)


def with_password(username: str, password: str) -> tuple[SeedUser, ...]:
    """USERS with a password for one of them (hashing costs ~35 ms, so only on demand)."""
    return tuple(
        dataclasses.replace(u, password=password) if u.username == username else u
        for u in USERS
    )


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


Added = Extension | tuple[Extension, Mapping[str, Any]]


@asynccontextmanager
async def serve(
    tmp_path: Path, *extensions: Added, options: HostOptions | None = None,
    users: Sequence[SeedUser] = USERS,
) -> AsyncIterator[tuple[Host, httpx.AsyncClient]]:
    """A started host with ``extensions`` and a client bound to it; stopped afterwards."""
    host = Host(options, database=SqliteProvider(), users=users, storage_root=tmp_path / "store")
    for item in extensions:
        ext, kwargs = item if isinstance(item, tuple) else (item, {})
        host.add(ext, **kwargs)
    await host.start()
    transport = httpx.ASGITransport(app=host.app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://host") as client:
            yield host, client
    finally:
        await host.stop()


async def raw_request(
    app: Callable[..., Awaitable[None]], method: str, raw_path: bytes, path: str | None = None,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> tuple[int, Any]:
    """Call the ASGI app directly with a hand-made path, as a server would pass it on.

    ``path`` defaults to the percent-decoded ``raw_path`` (what uvicorn does);
    httpx would normalise dot segments away before sending, so escapes are
    tested here.
    """
    from urllib.parse import unquote

    decoded = path if path is not None else unquote(raw_path.decode("latin-1"))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
        "method": method, "scheme": "http", "path": decoded, "raw_path": raw_path,
        "root_path": "", "query_string": b"", "headers": list(headers),
        "client": ("127.0.0.1", 1), "server": ("host", 80),
    }
    messages: list[dict[str, Any]] = []
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body


def meta(name: str, version: str = "1.0.0", **kw: Any) -> Metadata:
    return Metadata(name=name, version=version, **kw)


class Echo(Extension):
    """A small well-behaved extension: a few routes, nothing else."""

    def __init__(self, name: str = "echo", **meta_kw: Any) -> None:
        self.metadata = meta(name, **meta_kw)  # type: ignore[misc]

    def register_routes(self, router: Any) -> None:
        name = self.metadata.name

        async def ping(request: Request) -> Response:
            return JSONResponse({"ext": name, "pong": True})

        async def item(request: Request) -> Response:
            return JSONResponse({"ext": name, "id": request.path_params["item_id"]})

        router.get("/ping", ping)
        router.get("/items/{item_id:int}", item)
