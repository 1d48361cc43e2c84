"""Bad input is refused with a message naming what and where; nothing half-loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.inside.db.sqlite import SqliteProvider
from dufflebag_harness.inside.host import Host, HostOptions, SeedUser
from dufflebag_harness.sdk import Extension, Hook, HookType, Middleware, Permission

from ._helpers import Echo, run, serve


class BadSchema(Echo):
    config_schema = {"type": "object", "properties": {"n": {"type": "integr"}}}


class BadMiddleware(Echo):
    def middleware(self) -> Any:
        return ["not a middleware"]


class ExplodingFactory(Echo):
    def middleware(self) -> Any:
        def factory(app: Any) -> Any:
            raise OSError("no socket")

        return [Middleware("net", factory)]


class BadHooks(Echo):
    def hooks(self) -> Any:
        return [Hook("h", "not-a-type", lambda ctx: None)]  # type: ignore[arg-type]


class AsyncApply(Echo):
    async def apply_config(self, config: Any) -> None:  # type: ignore[override]
        return None


class Perm(Echo):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.permissions = (Permission("shared.perm", "x"),)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("ext", "message"),
    [
        (BadSchema("badschema"),
         "config_schema is not valid JSON Schema at config_schema.properties.n.type"),
        (BadMiddleware("badmw"), "middleware() returned 'not a middleware', not a Middleware"),
        (ExplodingFactory("boomfactory"), "middleware 'net' factory raised OSError: no socket"),
        (BadHooks("badhooks"), "hook 'h': unknown hook type 'not-a-type'"),
        (AsyncApply("asyncapply"),
         "apply_config refused the configuration: $: apply_config must be a plain"),
    ],
)
def test_malformed_extensions_are_refused_with_a_reason(
    tmp_path: Path, ext: Extension, message: str
) -> None:
    async def body() -> None:
        async with serve(tmp_path, ext, Echo()) as (host, client):
            name = ext.metadata.name
            assert host.load_errors[name].startswith(message), host.load_errors[name]
            assert (await client.get(f"/ext/{name}/ping")).status_code == 404
            assert (await client.get("/ext/echo/ping")).status_code == 200

    run(body())


def test_a_permission_name_belongs_to_one_extension(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Perm("first"), Perm("second")) as (host, _client):
            assert "first" not in host.load_errors
            assert host.load_errors["second"] == (
                "permissions refused: permission 'shared.perm' is already defined by "
                "extension 'first'")

    run(body())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"request_timeout_s": 0}, "HostOptions.request_timeout_s: must be a positive number"),
        ({"sync_pool_size": -1}, "HostOptions.sync_pool_size"),
        ({"failure_threshold": -1}, "HostOptions.failure_threshold: must be an integer >= 0"),
    ],
)
def test_host_options_are_validated(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        HostOptions(**kwargs)


@pytest.mark.parametrize(
    ("users", "message"),
    [
        ((SeedUser(1, "a", frozenset(), "token-aaaa"), SeedUser(1, "b", frozenset(),
                                                                  "token-bbbb")),
         "share the id 1"),
        ((SeedUser(1, "a", frozenset(), "token-aaaa"), SeedUser(2, "b", frozenset(),
                                                                  "token-aaaa")),
         "share the token <hidden>"),
    ],
)
def test_seed_users_must_be_distinct(
    tmp_path: Path, users: tuple[SeedUser, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Host(database=SqliteProvider(), users=users, storage_root=tmp_path)


def test_seed_user_fields_are_checked() -> None:
    with pytest.raises(ValueError, match="token: must be at least 8 characters"):
        SeedUser(1, "a", frozenset(), "short")
    with pytest.raises(ValueError, match="roles: must be a set"):
        SeedUser(1, "a", "admin", "long-token")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="id: must be a positive integer"):
        SeedUser(0, "a", frozenset(), "long-token")


def test_unknown_extension_names_raise_a_clear_key_error(tmp_path: Path) -> None:
    from dufflebag_harness.inside.host import UnknownExtension

    async def body() -> None:
        async with serve(tmp_path) as (host, _client):
            with pytest.raises(UnknownExtension) as info:
                host.state("ghost")
            assert str(info.value) == "no extension named 'ghost'"
            with pytest.raises(KeyError):
                host.set_config("ghost", {})

    run(body())


def test_hosts_start_once(tmp_path: Path) -> None:
    async def body() -> None:
        host = Host(database=SqliteProvider(), storage_root=tmp_path)
        await host.start()
        with pytest.raises(RuntimeError, match="starts once"):
            await host.start()
        await host.stop()
        await host.stop()  # idempotent

    run(body())


def test_pre_request_hook_sees_the_user_and_unused_types_cost_nothing(tmp_path: Path) -> None:
    seen: list[Any] = []

    class Watch(Echo):
        def hooks(self) -> list[Hook]:
            return [Hook("w", HookType.PRE_REQUEST, lambda ctx: seen.append(ctx.user))]

    async def body() -> None:
        from ._helpers import auth

        async with serve(tmp_path, Watch("watch")) as (_host, client):
            await client.get("/healthz", headers=auth("manager"))
        assert [u.username for u in seen] == ["manager"]

    run(body())
