"""The catalog's newer checks, below the verdicts the rogue tests assert.

Rogues show each required check failing for a realistic bug; these tests pin
the parts a rogue cannot isolate: the worker probes measure what they claim
(and nothing the host itself leaves), generated configurations are what the
schema says, and the judging helpers read traces the way the checks promise.
Probes run in-process on a :class:`WorkerServer` (no subprocess), so they
stay fast.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.conformance._configuration_gen import (
    admitted_configs,
    boundary_configs,
    merge_defaults,
    rejected_configs,
    schema_error,
    wrong_typed,
)
from dufflebag_harness.conformance._hooks_trace import (
    dead_patterns,
    modification_problems,
    order_problems,
)
from dufflebag_harness.conformance.routing import claims_other_extension
from dufflebag_harness.inside.worker._server import WorkerServer

HEADER = """
import asyncio, os, sqlite3, threading, time
from dufflebag_harness.sdk import (ConfigError, Extension, Hook, HookType, JSONResponse, Metadata,
                         Middleware)
"""


@pytest.fixture
def server() -> Iterator[WorkerServer]:
    worker = WorkerServer()
    yield worker
    if worker._loop is not None:
        worker.loop.close()


def _load(server: WorkerServer, root: Path, name: str, body: str) -> None:
    """Write package ``name`` (one module) under ``root`` and load its class ``Ext``."""
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(HEADER + textwrap.dedent(body).replace("NAME", name))
    item = {"name": name, "root": str(root), "entry": f"{name}:Ext"}
    out = server.op_load({"extensions": [item]})
    assert out["errors"] == {}, out["errors"]


@pytest.fixture
def unique(request: pytest.FixtureRequest) -> str:
    """A package name no other test imported (modules stay in sys.modules)."""
    base = "t_" + "".join(c for c in request.node.name.lower() if c.isalnum())[:20]
    name, n = base, 0
    while name in sys.modules:
        n += 1
        name = f"{base}{n}"
    return name


# -- LC-06: the leak probe --------------------------------------------------------


RESOURCES = """
class Ext(Extension):
    metadata = Metadata(name="NAME", version="1.0.0")

    async def start(self):
        self.file = open(os.devnull, "rb")
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.quit = threading.Event()
        self.thread = threading.Thread(target=self.quit.wait, name="NAME-worker", daemon=True)
        self.thread.start()
        self.task = asyncio.get_running_loop().create_task(asyncio.sleep(3600), name="NAME-tick")

    async def stop(self):
        if CLEAN and getattr(self, "file", None) is not None:
            self.file.close(); self.db.close(); self.quit.set(); self.thread.join()
            self.task.cancel()
            self.file = None
"""


def test_leak_probe_reports_what_stop_leaves(server: WorkerServer, tmp_path: Path,
                                             unique: str) -> None:
    _load(server, tmp_path, unique, "CLEAN = False\n" + RESOURCES)
    from dufflebag_harness.inside.worker._lifecycle_probes import probe_leaks

    out = probe_leaks(server, {"extension": unique, "settle_s": 0.3})
    leaked = out["leaked"]
    assert leaked["threads"] == [f"{unique}-worker"]
    assert any(t.startswith(f"{unique}-tick") for t in leaked["tasks"])
    assert "/dev/null" in leaked["fds"]
    assert leaked["sqlite_connections"] >= 1


def test_leak_probe_finds_nothing_when_stop_releases_everything(
        server: WorkerServer, tmp_path: Path, unique: str) -> None:
    _load(server, tmp_path, unique, "CLEAN = True\n" + RESOURCES)
    from dufflebag_harness.inside.worker._lifecycle_probes import probe_leaks

    out = probe_leaks(server, {"extension": unique, "settle_s": 0.3})
    assert out["load_error"] is None
    assert out["leaked"] == {"threads": [], "tasks": [], "fds": [], "sqlite_connections": 0,
                             "pool_checked_out": 0}


# -- HK: the trace probe and its judges ---------------------------------------------


TRACED = """
def _mw(tag):
    def factory(app):
        async def mw(scope, receive, send):
            await app(scope, receive, send)
        return mw
    return factory

class Ext(Extension):
    metadata = Metadata(name="NAME", version="1.0.0")

    def register_routes(self, router):
        router.get("/echo", self.echo)

    def middleware(self):
        return (Middleware("inner", _mw("inner"), priority=20, paths=("/ext/NAME/*",)),
                Middleware("outer", _mw("outer"), priority=10, paths=("/ext/NAME/*",)))

    def hooks(self):
        return (Hook("stamp", HookType.PRE_RESPONSE, self.stamp, paths=("/ext/NAME/*",)),
                Hook("tag", HookType.PRE_REQUEST, self.tag, paths=("/ext/NAME/*",)))

    def tag(self, ctx):
        ctx.payload["headers"]["x-tagged"] = "yes"

    def stamp(self, ctx):
        ctx.response_headers["x-stamp"] = "1"
        ctx.status = STATUS

    async def echo(self, request):
        return JSONResponse({"tagged": request.headers.get("x-tagged")})
"""


def _trace(server: WorkerServer, name: str) -> dict[str, Any]:
    from dufflebag_harness.inside.worker._hooks_probes import probe_trace

    return probe_trace(server, {"extension": name})


def test_trace_follows_priorities_and_sees_changes_arrive(server: WorkerServer, tmp_path: Path,
                                                          unique: str) -> None:
    _load(server, tmp_path, unique, "STATUS = 203\n" + TRACED)
    trace = _trace(server, unique)
    echo = next(r for r in trace["requests"] if r["path"] == f"/ext/{unique}/echo")
    entered = [e["index"] for e in echo["events"] if e["kind"] == "middleware"]
    assert entered == [1, 0]  # "outer" (priority 10) is entered before "inner" (20)
    handler = next(e for e in echo["events"] if e["kind"] == "handler")
    assert handler["headers"]["x-tagged"] == "yes"
    assert echo["status"] == 203 and echo["headers"]["x-stamp"] == "1"
    assert order_problems(trace) == []
    assert modification_problems(trace) == []
    core = next(r for r in trace["requests"] if r["path"] == "/api/v1/me")
    assert core["events"] == []  # path-specific: nothing of it ran on the core route


def test_trace_shows_a_status_the_host_refused(server: WorkerServer, tmp_path: Path,
                                               unique: str) -> None:
    _load(server, tmp_path, unique, "STATUS = '203'\n" + TRACED)
    problems = modification_problems(_trace(server, unique))
    assert len(problems) == 1
    assert "'203'" in problems[0]["problem"] and "got 200" in problems[0]["problem"]


def _request(events: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"method": "GET", "path": "/ext/x/a", "template": "/ext/x/a", "status": 200,
            "headers": {}, "events": events, **extra}


def test_order_judge_flags_a_chain_run_twice_and_hooks_out_of_order() -> None:
    declared = {"middleware": [{"index": 0, "name": "etag", "priority": 100, "paths": None}],
                "hooks": [{"index": 0, "name": "late", "type": "pre_request", "priority": 50,
                           "paths": None},
                          {"index": 1, "name": "early", "type": "pre_request", "priority": 5,
                           "paths": None}]}
    twice = _request([{"kind": "middleware", "index": 0}, {"kind": "forward", "index": 0},
                      {"kind": "handler"}, {"kind": "forward", "index": 0}, {"kind": "handler"}])
    swapped = _request([{"kind": "hook", "index": 0, "type": "pre_request"},
                        {"kind": "hook", "index": 1, "type": "pre_request"}])
    problems = [p["problem"] for p in
                order_problems({"declared": declared, "requests": [twice, swapped]})]
    assert any("'etag' passed the request on 2 times" in p for p in problems)
    assert any("handler" in p and "2 times" in p for p in problems)
    assert any("['late', 'early'], not by priority" in p for p in problems)


def test_dead_patterns_are_the_ones_no_route_matches() -> None:
    templates = ["/api/v1/me", "/api/v1/storage/{path}", "/ext/x/admin/settings",
                 "/ext/x/items/{item_id}"]
    declared = {"middleware": [{"name": "guard", "paths": ["/admin/*", "/ext/x/admin/*"]}],
                "hooks": [{"name": "h", "paths": ["/ext/x/items/7", "/api/v1/storage/*",
                                                  "/api/v1/nothing"]}]}
    found = sorted(p["pattern"] for p in dead_patterns(declared, templates))
    assert found == ["/admin/*", "/api/v1/nothing"]


def test_claims_on_other_extensions() -> None:
    assert claims_other_extension("/ext/analytics/*", "mine")
    assert claims_other_extension("/ext/ana*", "mine")
    assert claims_other_extension("/ext/other/ping", "mine")
    assert not claims_other_extension("/ext/mine/*", "mine")
    assert not claims_other_extension("/ext/mine", "mine")
    assert not claims_other_extension("/ext/*", "mine")
    assert not claims_other_extension("/api/v1/storage/*", "mine")


# -- CF: generated configurations and the reload probes --------------------------------

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"retries": {"type": "integer", "minimum": 0, "maximum": 10},
                   "name": {"type": "string", "maxLength": 8},
                   "tags": {"type": "array", "items": {"type": "string"}}},
    "additionalProperties": False,
}
DEFAULTS = {"retries": 3, "name": "x", "tags": []}


def test_admitted_configs_validate_and_repeat_for_a_seed() -> None:
    first = admitted_configs(SCHEMA, 20, seed=11)
    assert first == admitted_configs(SCHEMA, 20, seed=11)
    assert len(first) >= 5
    assert all(schema_error(SCHEMA, merge_defaults(DEFAULTS, c)) is None for c in first)


def test_rejected_and_wrong_typed_configs_are_refused_by_the_schema() -> None:
    rejected = rejected_configs(SCHEMA, DEFAULTS, 15, seed=3)
    assert rejected
    assert all(schema_error(SCHEMA, merge_defaults(DEFAULTS, c)) for c in rejected)
    wrong = dict(wrong_typed(DEFAULTS))
    assert set(wrong) == {"$.retries", "$.name", "$.tags"}
    for path, config in wrong.items():
        error = schema_error(SCHEMA, merge_defaults(DEFAULTS, config))
        assert error is not None and error[0] == path


def test_boundary_configs_reach_the_edges() -> None:
    edges = boundary_configs(SCHEMA)
    for expected in ({"retries": 0}, {"retries": 10}, {"name": ""}, {"tags": []}):
        assert expected in edges


def test_merge_keeps_nested_defaults() -> None:
    merged = merge_defaults({"a": {"b": 1, "c": 2}, "d": 1}, {"a": {"b": 5}})
    assert merged == {"a": {"b": 5, "c": 2}, "d": 1}


VOLATILE = """
class Ext(Extension):
    metadata = Metadata(name="NAME", version="1.0.0")
    config_schema = {"type": "object", "properties": {"level": {"type": "integer"}},
                     "additionalProperties": False}
    default_config = {"level": 1}

    def __init__(self):
        self.level = 0
        self.started_at = 0.0

    def apply_config(self, config):
        self.level = int(config["level"])

    async def start(self):
        self.started_at = time.time()  # differs between any two starts
"""


def test_compare_ignores_what_differs_between_any_two_starts(
        server: WorkerServer, tmp_path: Path, unique: str) -> None:
    _load(server, tmp_path, unique, VOLATILE)
    from dufflebag_harness.inside.worker._config_probes import probe_compare, probe_reload

    out = probe_compare(server, {"extension": unique, "base": None, "target": {"level": 7}})
    assert out["reload"]["outcome"] == "applied"
    assert ".level" in out["dependent"] and ".started_at" not in out["dependent"]
    assert out["mismatch"] == []
    refused = probe_reload(server, {"extension": unique, "configs": [{"level": "high"}]})
    [result] = refused["results"]
    assert result["outcome"] == "refused" and result["path"] == "$.level"
    assert result["changed"] == [] and result["config_kept"] is True


FROZEN_CONFIG = '''
from dufflebag_harness.sdk import ConfigError, Extension, JSONResponse, Metadata


class Ext(Extension):
    metadata = Metadata(name="frozen_config", version="1.0.0", description="d", author="a",
                        license="MIT", homepage="https://example.org")
    config_schema = {"type": "object", "properties": {"level": {"type": "integer"}},
                     "additionalProperties": False}
    default_config = {"level": 1}

    def __init__(self):
        self.level = None

    def apply_config(self, config):
        if self.level is not None:
            raise ConfigError("changing the level needs a restart", "$.level")
        self.level = config["level"]

    def register_routes(self, router):
        router.get("/ping", self.ping)

    async def ping(self, request):
        return JSONResponse({"level": self.level})
'''


def test_an_extension_that_refuses_every_reload_fails_cf05(tmp_path: Path) -> None:
    from dufflebag_harness.outside.runner import CertifyOptions, certify

    root = tmp_path / "frozen_config"
    (root / "frozen_config_pkg").mkdir(parents=True)
    (root / "frozen_config_pkg" / "__init__.py").write_text(FROZEN_CONFIG)
    (root / "extension.toml").write_text(textwrap.dedent('''
        [extension]
        name = "frozen_config"
        version = "1.0.0"
        entry = "frozen_config_pkg:Ext"
        description = "d"
        author = "a"
        license = "MIT"
        homepage = "https://example.org"
        host_api = ">=1.0,<2"
    '''))
    outcome = certify(CertifyOptions(path=root, out=tmp_path / "out", profile="quick",
                                     only=["CF-03", "CF-05"], seed=5))
    results = {r["check"]: r for r in outcome.report["results"]}
    assert results["CF-03"]["status"] == "pass"  # deliberate refusals are not crashes
    assert results["CF-05"]["status"] == "fail"
    assert "refused all" in results["CF-05"]["reason"]
