"""Benchmarks of the reference host's own per-request cost (``nox -s bench``).

Not collected by the default test run (the file name is ``bench_*``). Every
figure is relative to a bare Starlette app serving the same handler, measured
in the same run, so the targets hold on a slow machine as on a fast one:

* 5 extensions, each with a global pure-ASGI middleware and pre/post request
  hooks: a request costs at most 25 µs more than on the bare app (p50);
* 100 extensions, each with middleware on its own paths only: a request to
  one of them costs at most 1.2x the 5-extension figure (chains are resolved
  per route when the table is built, so non-matching middleware is free).

Requests are ASGI calls awaited directly (no HTTP client, whose own cost of
~150 µs would drown the host's), in batches of :data:`BATCH` per benchmark
round; "p50" is the median over rounds of the per-request time in a batch.
Figures land in the benchmark JSON (``extra_info``) and in the assertion
messages.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from dufflebag_harness.inside.db.sqlite import SqliteProvider
from dufflebag_harness.inside.host import Host
from dufflebag_harness.sdk import (
    Extension,
    Hook,
    HookContext,
    HookType,
    JSONResponse,
    Metadata,
    Middleware,
    Request,
    Response,
    Router,
)

#: Requests per benchmark round.
BATCH = 200
#: Rounds per figure (the median decides).
ROUNDS = 40
#: Added cost allowed on top of bare Starlette with 5 global-middleware extensions (µs).
ADDED_LIMIT_US = 25.0
#: Cost allowed for a request among 100 path-specific extensions, relative to the 5-extension one.
SCALE_LIMIT = 1.2

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]],
                    Callable[[Message], Awaitable[None]]], Awaitable[None]]


async def _ping(request: Request) -> Response:
    return JSONResponse({"pong": True})


class _Stamp:
    """A pure-ASGI middleware that adds one response header (the cheapest real one)."""

    def __init__(self, app: ASGIApp, header: bytes) -> None:
        self.app = app
        self.header = header

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (self.header, b"1")]
            await send(message)

        await self.app(scope, receive, stamped)


class _BenchExtension(Extension):
    """A ``/ping`` route; optionally middleware (global or own paths) and request hooks."""

    global_middleware = False
    own_middleware = False
    request_hooks = False
    own_hooks = False

    def register_routes(self, router: Router) -> None:
        router.get("/ping", _ping)

    def middleware(self) -> tuple[Middleware, ...]:
        name = self.metadata.name
        header = f"x-{name}".encode()
        if self.global_middleware:
            return (Middleware(name=f"{name}_mw", factory=lambda app: _Stamp(app, header)),)
        if self.own_middleware:
            return (Middleware(name=f"{name}_mw", factory=lambda app: _Stamp(app, header),
                               paths=(f"/ext/{name}/*",)),)
        return ()

    def hooks(self) -> tuple[Hook, ...]:
        if not (self.request_hooks or self.own_hooks):
            return ()
        paths = (f"/ext/{self.metadata.name}/*",) if self.own_hooks else None
        return (Hook(name="pre", type=HookType.PRE_REQUEST, handler=self._seen, paths=paths),
                Hook(name="post", type=HookType.POST_REQUEST, handler=self._seen, paths=paths))

    def _seen(self, ctx: HookContext) -> None:
        ctx.data["seen"] = True


def _extensions(prefix: str, count: int, **features: bool) -> list[Extension]:
    out: list[Extension] = []
    for i in range(count):
        name = f"{prefix}{i:03d}"
        meta = Metadata(name=name, version="1.0.0", description="benchmark", author="bench",
                        license="MIT", homepage="https://example.org", host_api=">=1.0,<2")
        cls = type(f"Bench_{name}", (_BenchExtension,), {"metadata": meta, **features})
        out.append(cls())
    return out


def _scope(path: str) -> Scope:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": [(b"host", b"bench")],
            "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


@dataclass
class Target:
    """An ASGI app and the path to request on it, on a loop that lives for the module."""

    loop: asyncio.AbstractEventLoop
    app: ASGIApp
    path: str

    def answer(self) -> tuple[int, dict[str, str]]:
        """One request: status and response headers (to check what is measured)."""
        seen: dict[str, Any] = {}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                seen["headers"] = {k.decode(): v.decode() for k, v in message["headers"]}

        self.loop.run_until_complete(self.app(_scope(self.path), _receive, send))
        return seen["status"], seen["headers"]

    def batch(self) -> None:
        async def send(message: Message) -> None:
            return None

        async def many() -> None:
            for _ in range(BATCH):
                await self.app(_scope(self.path), _receive, send)

        self.loop.run_until_complete(many())



def interleaved_us(a: Target, b: Target, rounds: int = ROUNDS) -> tuple[float, float]:
    """Per-request p50 (µs) of ``a`` and ``b``, their batches alternating round by round.

    Alternating puts both under the same momentary machine load, which matters
    more than the number of rounds on a noisy machine; collection is paused.
    """
    a.batch()
    b.batch()
    times: dict[int, list[float]] = {0: [], 1: []}
    pair = (a, b)
    enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(rounds):
            for k in ((0, 1) if i % 2 == 0 else (1, 0)):
                started = time.perf_counter()
                pair[k].batch()
                times[k].append(time.perf_counter() - started)
    finally:
        if enabled:
            gc.enable()
    return (statistics.median(times[0]) / BATCH * 1e6, statistics.median(times[1]) / BATCH * 1e6)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _host(loop: asyncio.AbstractEventLoop, tmp: Path, extensions: Sequence[Extension]) -> Host:
    host = Host(database=SqliteProvider(), storage_root=tmp)
    for ext in extensions:
        host.add(ext)
    loop.run_until_complete(host.start())
    assert not host.load_errors, host.load_errors
    return host


@pytest.fixture(scope="module")
def hosts(loop: asyncio.AbstractEventLoop,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Target]]:
    """The apps compared: bare Starlette, and the host in four set-ups."""
    bare = Starlette(routes=[Route("/ext/g000/ping", _ping)])
    made = {
        "floor": _host(loop, tmp_path_factory.mktemp("floor"), _extensions("p", 1)),
        "five_global": _host(loop, tmp_path_factory.mktemp("five"),
                             _extensions("g", 5, global_middleware=True, request_hooks=True)),
        "hundred_own_middleware": _host(loop, tmp_path_factory.mktemp("hundred"),
                                        _extensions("m", 100, own_middleware=True)),
        "hundred_own_middleware_and_hooks": _host(
            loop, tmp_path_factory.mktemp("hundred_hooks"),
            _extensions("h", 100, own_middleware=True, own_hooks=True)),
    }
    targets = {
        "bare": Target(loop, bare, "/ext/g000/ping"),
        "floor": Target(loop, made["floor"].app, "/ext/p000/ping"),
        "five_global": Target(loop, made["five_global"].app, "/ext/g000/ping"),
        "hundred_own_middleware": Target(loop, made["hundred_own_middleware"].app,
                                         "/ext/m050/ping"),
        "hundred_own_middleware_and_hooks": Target(
            loop, made["hundred_own_middleware_and_hooks"].app, "/ext/h050/ping"),
    }
    yield targets
    for host in made.values():
        loop.run_until_complete(host.stop())


def _bench(benchmark: Any, target: Target) -> float:
    benchmark.pedantic(target.batch, rounds=ROUNDS, iterations=1, warmup_rounds=3)
    return float(benchmark.stats.stats.median) / BATCH * 1e6


def test_what_is_measured(hosts: dict[str, Target]) -> None:
    """Every set-up answers 200, and the middleware under test really runs."""
    for name, target in hosts.items():
        status, _ = target.answer()
        assert status == 200, name
    _, headers = hosts["five_global"].answer()
    assert {f"x-g00{i}" for i in range(5)} <= set(headers)
    _, headers = hosts["hundred_own_middleware"].answer()
    assert [h for h in headers if h.startswith("x-m")] == ["x-m050"]


def test_bare_starlette(benchmark: Any, hosts: dict[str, Target]) -> None:
    us = _bench(benchmark, hosts["bare"])
    benchmark.extra_info.update(p50_us=round(us, 2))


def test_host_floor(benchmark: Any, hosts: dict[str, Target]) -> None:
    """One plain extension: the host's own layers (path check, auth, guard, table match)."""
    us = _bench(benchmark, hosts["floor"])
    host_us, bare_us = interleaved_us(hosts["floor"], hosts["bare"])
    benchmark.extra_info.update(p50_us=round(us, 2), interleaved_us=round(host_us, 2),
                                bare_us=round(bare_us, 2), added_us=round(host_us - bare_us, 2))


def test_five_extensions_with_global_middleware_and_hooks(
        benchmark: Any, hosts: dict[str, Target]) -> None:
    us = _bench(benchmark, hosts["five_global"])
    five_us, bare_us = interleaved_us(hosts["five_global"], hosts["bare"])
    added = five_us - bare_us
    benchmark.extra_info.update(p50_us=round(us, 2), interleaved_us=round(five_us, 2),
                                bare_us=round(bare_us, 2), added_us=round(added, 2),
                                limit_us=ADDED_LIMIT_US)
    assert added <= ADDED_LIMIT_US, (
        f"5 extensions add {added:.1f} µs per request over bare Starlette "
        f"({five_us:.1f} vs {bare_us:.1f} µs; limit {ADDED_LIMIT_US:.0f} µs)")


def test_hundred_extensions_with_path_specific_middleware(
        benchmark: Any, hosts: dict[str, Target]) -> None:
    us = _bench(benchmark, hosts["hundred_own_middleware"])
    hundred_us, five_us = interleaved_us(hosts["hundred_own_middleware"], hosts["five_global"])
    ratio = hundred_us / five_us
    benchmark.extra_info.update(p50_us=round(us, 2), interleaved_us=round(hundred_us, 2),
                                five_us=round(five_us, 2), ratio=round(ratio, 3),
                                limit_ratio=SCALE_LIMIT)
    assert ratio <= SCALE_LIMIT, (
        f"a request among 100 extensions costs {hundred_us:.1f} µs, {ratio:.2f}x the "
        f"5-extension {five_us:.1f} µs (limit {SCALE_LIMIT}x)")


def test_hundred_extensions_with_path_specific_hooks_too(
        benchmark: Any, hosts: dict[str, Target]) -> None:
    """Hooks are resolved per route like middleware, so 100 extensions' path-specific
    hooks must not make a request to one of them cost more than 1.2x the 5-extension
    figure either."""
    us = _bench(benchmark, hosts["hundred_own_middleware_and_hooks"])
    hooks_us, five_us = interleaved_us(hosts["hundred_own_middleware_and_hooks"],
                                       hosts["five_global"])
    benchmark.extra_info.update(p50_us=round(us, 2), interleaved_us=round(hooks_us, 2),
                                five_us=round(five_us, 2),
                                ratio_to_five=round(hooks_us / five_us, 3))
    assert hooks_us <= 1.2 * five_us, (hooks_us, five_us)
