"""Start order, dependency refusals, host-API range, migrations, configuration."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.inside.host import ExtensionState, Host
from dufflebag_harness.sdk import ConfigError, Extension, JSONResponse, Migration, Request, Response
from dufflebag_harness.shared.dependencies import plan_load

from ._helpers import Echo, auth, meta, run, serve


class Ordered(Echo):
    def __init__(self, name: str, log: list[str], **kw: Any) -> None:
        super().__init__(name, **kw)
        self.log = log

    async def start(self) -> None:
        self.log.append(f"start:{self.metadata.name}")

    async def stop(self) -> None:
        self.log.append(f"stop:{self.metadata.name}")


def test_extensions_start_in_dependency_order_and_stop_in_reverse(tmp_path: Path) -> None:
    log: list[str] = []
    exts = [
        Ordered("app", log, dependencies={"mid": ">=1.0"}),
        Ordered("mid", log, dependencies={"base": ">=1.0,<2"}),
        Ordered("base", log, version="1.4.0"),
    ]

    async def body() -> None:
        async with serve(tmp_path, *exts) as (host, _client):
            assert host.load_errors == {}
        assert log == ["start:base", "start:mid", "start:app",
                       "stop:app", "stop:mid", "stop:base"]

    run(body())


def test_dependency_cycle_is_refused_naming_the_cycle(tmp_path: Path) -> None:
    exts = [
        Echo("aa", dependencies={"bb": ">=1"}),
        Echo("bb", dependencies={"cc": ">=1"}),
        Echo("cc", dependencies={"aa": ">=1"}),
        Echo("dd", dependencies={"aa": ">=1"}),
        Echo("ee"),
    ]

    async def body() -> None:
        async with serve(tmp_path, *exts) as (host, client):
            cycle = "dependency cycle: aa -> bb -> cc -> aa"
            assert host.load_errors == {
                "aa": cycle, "bb": cycle, "cc": cycle,
                "dd": "depends on 'aa', which was refused",
            }
            assert host.state("ee") is ExtensionState.ACTIVE
            assert (await client.get("/ext/ee/ping")).status_code == 200

    run(body())


@pytest.mark.parametrize(
    ("deps", "other_version", "needle"),
    [
        ({"ghost": ">=1.0"}, None, "requires extension 'ghost' (>=1.0), which is not registered"),
        ({"base": ">=2.0"}, "1.5.0",
         "requires 'base' >=2.0 but 'base' 1.5.0 is registered; install a version"),
        ({"base": "banana"}, "1.0.0", "'banana' is not a valid version specifier"),
    ],
)
def test_unresolvable_dependencies_are_refused_with_a_hint(
    deps: dict[str, str], other_version: str | None, needle: str
) -> None:
    metas = {"app": meta("app", dependencies=deps)}
    if other_version:
        metas["base"] = meta("base", version=other_version)
    plan = plan_load(metas)
    assert needle in plan.refused["app"]
    assert "app" not in plan.order


def test_host_api_range_is_checked(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Echo("future", host_api=">=2.0"), Echo()) as (host, _c):
            assert host.load_errors["future"].startswith(
                "host_api '>=2.0' does not admit host API 1.0.0")
            assert host.state("echo") is ExtensionState.ACTIVE

    run(body())


def test_add_refuses_bad_names_duplicates_and_late_additions(tmp_path: Path) -> None:
    from dufflebag_harness.inside.db.sqlite import SqliteProvider

    host = Host(database=SqliteProvider(), storage_root=tmp_path)
    with pytest.raises(ValueError, match="must match"):
        host.add(Echo("Bad-Name"))
    host.add(Echo("fine"))
    with pytest.raises(ValueError, match="already added"):
        host.add(Echo("fine"))
    with pytest.raises(ValueError, match=r"quotas\.concurrent_requests"):
        from dufflebag_harness.sdk import Quotas

        host.add(Echo("other"), quotas=Quotas(concurrent_requests=-1))

    async def body() -> None:
        await host.start()
        with pytest.raises(RuntimeError, match="before start"):
            host.add(Echo("late"))
        await host.stop()

    run(body())


class Stored(Extension):
    metadata = meta("stored")
    migrations = (
        Migration(1, "notes table", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"),
        Migration(2, "seed", "INSERT INTO notes (body) VALUES ('first')"),
    )

    def register_routes(self, router: Any) -> None:
        async def notes(request: Request) -> Response:
            return JSONResponse(await self.services.database.fetch_all("SELECT body FROM notes"))

        router.get("/notes", notes)


class BrokenMigration(Extension):
    metadata = meta("brokenmig")
    migrations = (Migration(1, "bad", "CREATE TABLE oops (;"),)


def test_migrations_run_before_initialize_and_are_listed(tmp_path: Path) -> None:
    async def body() -> None:
        async with serve(tmp_path, Stored(), BrokenMigration()) as (host, client):
            assert (await client.get("/ext/stored/notes")).json() == [{"body": "first"}]
            details = (await client.get("/api/v1/extensions/stored", headers=auth("user"))).json()
            assert [m["version"] for m in details["migrations"]] == [1, 2]
            assert details["migrations"][0]["description"] == "notes table"
            assert host.load_errors["brokenmig"].startswith("migrations failed: MigrationError")

    run(body())


class Configured(Extension):
    metadata = meta("configured")
    config_schema = {
        "type": "object",
        "properties": {
            "greeting": {"type": "string", "minLength": 1},
            "limits": {
                "type": "object",
                "properties": {"retries": {"type": "integer", "minimum": 0}},
            },
        },
        "additionalProperties": False,
    }
    default_config = {"greeting": "hello", "limits": {"retries": 3}}

    def __init__(self, refuse: str | None = None) -> None:
        self.applied: list[Mapping[str, Any]] = []
        self.changes: list[Mapping[str, Any]] = []
        self.refuse = refuse

    def apply_config(self, config: Mapping[str, Any]) -> None:
        if config.get("greeting") == self.refuse:
            raise ConfigError("greeting refused by the extension", path="$.greeting")
        self.applied.append(dict(config))

    async def initialize(self, services: Any) -> None:
        await super().initialize(services)
        services.config.on_change(self.changes.append)

    def register_routes(self, router: Any) -> None:
        async def show(request: Request) -> Response:
            return JSONResponse(dict(self.services.config.all()))

        router.get("/config", show)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"limits": {"retries": -1}}, "configuration invalid at $.limits.retries:"),
        ({"greeting": 5}, "configuration invalid at $.greeting:"),
        ({"colour": "red"}, "configuration invalid at $:"),
    ],
)
def test_invalid_initial_config_names_the_json_path(
    tmp_path: Path, config: dict[str, Any], message: str
) -> None:
    async def body() -> None:
        async with serve(tmp_path, (Configured(), {"config": config})) as (host, _client):
            assert host.load_errors["configured"].startswith(message)

    run(body())


def test_defaults_are_merged_and_hot_reload_applies(tmp_path: Path) -> None:
    ext = Configured()

    async def body() -> None:
        added = (ext, {"config": {"limits": {"retries": 5}}})
        async with serve(tmp_path, added) as (host, client):
            assert ext.applied == [{"greeting": "hello", "limits": {"retries": 5}}]
            assert (await client.get("/ext/configured/config")).json()["limits"] == {
                "retries": 5}
            host.set_config("configured", {"greeting": "bonjour"})
            expected = {"greeting": "bonjour", "limits": {"retries": 3}}
            assert (await client.get("/ext/configured/config")).json() == expected
            assert [dict(c) for c in ext.changes] == [expected]
            assert host.audit_log[-1].action == "extension.config"

    run(body())


def test_invalid_reload_keeps_the_old_config(tmp_path: Path) -> None:
    ext = Configured(refuse="nope")

    async def body() -> None:
        async with serve(tmp_path, ext) as (host, client):
            with pytest.raises(ConfigError) as info:
                host.set_config("configured", {"limits": {"retries": "many"}})
            assert info.value.path == "$.limits.retries"
            with pytest.raises(ConfigError) as info:
                host.set_config("configured", {"greeting": "nope"})
            assert info.value.path == "$.greeting"
            assert host.config("configured")["greeting"] == "hello"
            assert (await client.get("/ext/configured/config")).json()["greeting"] == "hello"
            assert ext.changes == []

            put = await client.put("/api/v1/extensions/configured/config",
                                   json={"limits": {"retries": -2}}, headers=auth("admin"))
            assert put.status_code == 422
            assert put.json()["path"] == "$.limits.retries"
            put = await client.put("/api/v1/extensions/configured/config",
                                   json={"greeting": "hey"}, headers=auth("manager"))
            assert put.status_code == 403
            put = await client.put("/api/v1/extensions/configured/config",
                                   json={"greeting": "hey"}, headers=auth("admin"))
            assert put.json()["config"]["greeting"] == "hey"
            got = await client.get("/api/v1/extensions/configured/config", headers=auth("admin"))
            assert got.json()["config"] == {"greeting": "hey", "limits": {"retries": 3}}

    run(body())


def test_failing_on_change_callback_restores_the_old_config(tmp_path: Path) -> None:
    ext = Configured()

    async def body() -> None:
        async with serve(tmp_path, ext) as (host, client):
            def explode(_config: Mapping[str, Any]) -> None:
                raise RuntimeError("cannot follow")

            assert ext.services is not None
            ext.services.config.on_change(explode)
            with pytest.raises(ConfigError, match="on_change callback raised RuntimeError"):
                host.set_config("configured", {"greeting": "salut"})
            assert host.config("configured")["greeting"] == "hello"
            assert (await client.get("/ext/configured/config")).json()["greeting"] == "hello"
            assert ext.applied[-1]["greeting"] == "hello"  # re-applied after the failure

    run(body())
