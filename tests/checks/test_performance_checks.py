"""Performance and concurrency checks: their statistics, clients and load generator.

The checks themselves are shown to pass on good extensions (end-to-end
certification) and to fail on their rogues (``test_rogues.py``). Here: the
parts a verdict rests on, each against hand-computed values or a tiny local
HTTP server whose behaviour the test controls.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from dufflebag_harness.conformance import CheckFailed
from dufflebag_harness.conformance._load_concurrent import (
    HOST_NOT_FOUND,
    Shape,
    Tally,
    Traffic,
    join_all,
    run_threads,
    shape,
    stamps,
)
from dufflebag_harness.conformance._load_runner import preflight, run_load
from dufflebag_harness.conformance._perf_client import (
    Target,
    TimedClient,
    alternate,
    require_same_status,
)
from dufflebag_harness.conformance._perf_memory import MemoryWatch, parent_rss_mb
from dufflebag_harness.conformance._perf_stats import (
    GrowthLimits,
    added,
    judge_growth,
    latency_summary,
    median_of_rounds,
    percentile,
    theil_sen_slope,
)
from dufflebag_harness.inside.worker._perf_probes import probe_memory

# -- statistics ---------------------------------------------------------------


def test_percentiles_interpolate_between_ranks() -> None:
    samples = list(range(1, 101))  # 1..100: position (n-1)*q/100 from the smallest
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 95) == pytest.approx(95.05)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile([7.0], 95) == 7.0


@pytest.mark.parametrize("q", [0, 100, -5])
def test_percentile_refuses_a_q_outside_1_to_99(q: int) -> None:
    with pytest.raises(ValueError, match=r"within 1\.\.99"):
        percentile([1.0, 2.0], q)


def test_percentile_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_latency_summary_is_in_milliseconds() -> None:
    samples_ns = [i * 1_000_000 for i in range(1, 101)]  # 1 ms .. 100 ms
    assert latency_summary(samples_ns) == {"p50": 50.5, "p95": 95.05, "p99": 99.01}


def test_added_and_median_of_rounds() -> None:
    assert added({"p50": 1.5, "p95": 3.0}, {"p50": 1.0, "p95": 1.0}) == {"p50": 0.5, "p95": 2.0}
    rounds = [{"p95": 9.0}, {"p95": 0.2}, {"p95": 0.3}, {"p95": 0.1}, {"p95": 0.25}]
    assert median_of_rounds(rounds) == {"p95": 0.25}  # one noisy round does not decide
    with pytest.raises(ValueError):
        median_of_rounds([])


def test_theil_sen_ignores_one_outlier() -> None:
    points = [(float(t), 2.0 * t) for t in range(8)]
    points[5] = (5.0, 500.0)
    assert theil_sen_slope(points) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        theil_sen_slope([(1.0, 1.0), (1.0, 2.0)])


def _series(values: list[float]) -> list[tuple[float, float]]:
    return [(0.5 * i, v) for i, v in enumerate(values)]


def test_steady_growth_with_traffic_is_a_leak() -> None:
    verdict = judge_growth(_series([100 + 5 * i for i in range(8)]), requests=700)
    assert verdict.leaking
    assert verdict.growth_mb == pytest.approx(35.0)
    assert verdict.kb_per_request == pytest.approx(35 * 1024 / 700, rel=1e-3)
    assert "35.0 MB over 700 requests" in verdict.reason


@pytest.mark.parametrize(
    ("values", "requests", "why"),
    [
        ([100, 100, 130, 130, 130, 130, 130, 130], 100, "a one-time step early"),
        ([100, 100, 100, 100, 130, 130, 130, 130], 100, "a step that levelled off"),
        ([100, 100, 100, 100, 100, 100, 100, 140], 100, "one high last sample"),
        ([100 + 0.5 * i for i in range(8)], 10, "too little growth (allocator noise)"),
        ([100 + 5 * i for i in range(8)], 100_000, "little retained per request"),
        ([100, 99, 101, 100, 98, 100, 101, 99], 100, "flat"),
    ],
)
def test_what_is_not_a_leak(values: list[float], requests: int, why: str) -> None:
    verdict = judge_growth(_series(values), requests=requests)
    assert not verdict.leaking, why
    assert verdict.reason == ""


def test_growth_limits_are_configurable() -> None:
    series = _series([100 + 0.5 * i for i in range(8)])
    assert judge_growth(series, 10, GrowthLimits(min_growth_mb=1.0)).leaking


@pytest.mark.parametrize(
    ("points", "requests", "message"),
    [
        (_series([1, 2, 3]), 10, "at least 4 samples"),
        (_series([1, 2, 3, 4]), -1, "requests must be >= 0"),
        ([(1.0, 1.0)] * 4, 10, "span some time"),
    ],
)
def test_judge_growth_bad_input(points: list[tuple[float, float]], requests: int,
                                message: str) -> None:
    with pytest.raises(ValueError, match=message):
        judge_growth(points, requests)


# -- a tiny HTTP server the tests control ---------------------------------------------------


@dataclass
class Behaviour:
    """Status and JSON body per path; ``hits`` counts requests per path."""

    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(behaviour: Behaviour) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            with behaviour.lock:
                behaviour.hits[self.path] = behaviour.hits.get(self.path, 0) + 1
            status, body = behaviour.answers.get(self.path, (404, HOST_NOT_FOUND))
            data = json.dumps(body).encode()
            self.send_response(status)
            for key, value in behaviour.headers.get(self.path, {}).items():
                self.send_header(key, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@dataclass
class FakeHost:
    """What checks need of a host: a base URL and seeded tokens."""

    base_url: str
    tokens: Mapping[str, str] = field(
        default_factory=lambda: {"user": "tok-user", "admin": "tok-a"})
    load_errors: Mapping[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, *, as_role: str | None = None,
                **kwargs: Any) -> Any:
        import httpx

        headers = {"Authorization": f"Bearer {self.tokens[as_role]}"} if as_role else {}
        return httpx.request(method, self.base_url + path, headers=headers, **kwargs)

    def close(self) -> None:
        pass


@pytest.fixture
def served() -> Iterator[tuple[FakeHost, Behaviour]]:
    behaviour = Behaviour()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(behaviour))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield FakeHost(f"http://127.0.0.1:{server.server_address[1]}"), behaviour
    finally:
        server.shutdown()
        server.server_close()


# -- timed client and alternation -----------------------------------------------------------


def test_alternation_collects_every_sample_and_status(
        served: tuple[FakeHost, Behaviour]) -> None:
    host, behaviour = served
    behaviour.answers["/a"] = (200, {"ok": True})
    a, b = TimedClient(host), TimedClient(host)
    try:
        run = alternate(a, b, [(Target("A", "GET", "/a"), Target("A", "GET", "/a"))], pairs=7)
    finally:
        a.close()
        b.close()
    assert len(run.a["A"]) == len(run.b["A"]) == 7
    assert all(ns > 0 for ns in run.a["A"] + run.b["A"])
    assert run.statuses["A"] == {(200, 200)}
    assert behaviour.hits["/a"] == 14
    require_same_status(run, "one", "other")  # same answers: comparable


def test_different_answers_are_not_compared(served: tuple[FakeHost, Behaviour]) -> None:
    host, behaviour = served
    behaviour.answers["/ok"] = (200, {})
    behaviour.answers["/boom"] = (500, {})
    a, b = TimedClient(host), TimedClient(host)
    try:
        differs = alternate(a, b, [(Target("X", "GET", "/ok"), Target("X", "GET", "/gone"))], 2)
        errors = alternate(a, b, [(Target("Y", "GET", "/boom"), Target("Y", "GET", "/boom"))], 2)
    finally:
        a.close()
        b.close()
    with pytest.raises(CheckFailed, match="answered 200 on the one host and 404 on the other"):
        require_same_status(differs, "one", "other")
    with pytest.raises(CheckFailed, match="server error"):
        require_same_status(errors, "one", "other")


def test_timed_client_sends_the_roles_token(served: tuple[FakeHost, Behaviour]) -> None:
    host, _ = served
    client = TimedClient(host)
    assert client.headers("user") == {"Authorization": "Bearer tok-user"}
    assert client.headers(None) == {}
    client.close()


# -- the load generator (locust, in its own process) ----------------------------------------


def test_load_counts_answers_that_differ_from_the_preflight(
        served: tuple[FakeHost, Behaviour]) -> None:
    host, behaviour = served
    behaviour.answers["/fine"] = (200, {"ok": True})
    behaviour.answers["/flaky"] = (200, {"ok": True})
    targets = preflight(host, [(Target("GET /fine", "GET", "/fine", "user"), 1),
                               (Target("GET /flaky", "GET", "/flaky"), 1)])
    assert [t.expect for t in targets] == [(200,), (200,)]
    behaviour.answers["/flaky"] = (503, {"error": "busy"})  # "under load" it starts failing
    ticks: list[float] = []
    result = run_load(host, targets, users=2, duration_s=1.0,
                      on_tick=lambda elapsed, duration: ticks.append(elapsed), tick_s=0.25)
    per = result.raw["per_target"]
    assert result.requests == per["GET /fine"]["requests"] + per["GET /flaky"]["requests"] > 0
    assert per["GET /fine"]["failures"] == 0
    assert result.failures == per["GET /flaky"]["failures"] == per["GET /flaky"]["requests"]
    assert "GET /flaky: HTTP 503, expected [200]" in result.first_error()
    assert ticks and all(0 < t < 1.0 for t in ticks)
    figure = result.figure()
    assert figure["requests"] == result.requests and figure["p95_ms"] is not None


def test_preflight_refuses_a_target_that_fails_alone(served: tuple[FakeHost, Behaviour]) -> None:
    host, behaviour = served
    behaviour.answers["/broken"] = (500, {})
    with pytest.raises(CheckFailed, match="GET /broken answers 500 even without load"):
        preflight(host, [(Target("GET /broken", "GET", "/broken"), 1)])


def test_run_load_needs_targets(served: tuple[FakeHost, Behaviour]) -> None:
    with pytest.raises(ValueError, match="no targets"):
        run_load(served[0], [], users=1, duration_s=0.1)


def test_loading_the_checks_never_imports_locust_or_gevent() -> None:
    """locust monkeypatches the process that imports it: never the signing process."""
    code = ("import sys, dufflebag_harness.conformance as c; c.load_checks(); "
            "print(sorted(m for m in ('locust', 'gevent') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.strip() == "[]"


# -- concurrency judging --------------------------------------------------------------------


def test_shape_and_stamps() -> None:
    assert shape(200, b'{"b": 1, "a": 2}') == (200, ("a", "b"))
    assert shape(200, b"[1, 2]") == (200, "list")
    assert shape(404, b"<html>") == (404, "non-json")
    headers = {"X-Companion_01": "1", "x-companion_03": "1", "content-type": "x"}
    assert stamps(headers, ["companion_01", "companion_02", "companion_03"]) == {
        "companion_01", "companion_03"}


def test_item_roundtrip_catches_a_crossed_answer(served: tuple[FakeHost, Behaviour]) -> None:
    host, behaviour = served
    behaviour.answers["/ext/c1/items"] = (201, {"extension": "c1", "id": "abc"})
    behaviour.headers["/ext/c1/items"] = {"x-c1": "1"}
    # the read answers the other companion's item
    behaviour.answers["/ext/c1/items/abc"] = (200, {"extension": "c2", "id": "abc", "value": 1})
    traffic = Traffic(host, ["c1", "c2"], [], {})
    tally, client = Tally(), TimedClient(host)
    traffic.item_roundtrip(client, "c1", tally)
    client.close()
    assert tally.count == 1 and tally.requests == 2
    assert tally.problems[0]["problem"] == "answered another item or extension"


def test_a_disabled_extensions_404_is_expected_only_when_toggled(
        served: tuple[FakeHost, Behaviour]) -> None:
    host, _ = served  # every path answers the host's 404
    own = [Target("GET /ext/me/ping", "GET", "/ext/me/ping")]
    base: dict[str, Shape] = {"GET /ext/me/ping": (200, ("pong",))}
    for toggled, problems in ((frozenset({"me", "c1"}), 0), (frozenset(), 2)):
        traffic = Traffic(host, ["c1"], own, base, toggled=toggled)
        tally, client = Tally(), TimedClient(host)
        traffic.own_request(client, own[0], "me", tally)
        traffic.item_roundtrip(client, "c1", tally)
        client.close()
        assert tally.count == problems


def test_threads_run_each_task_once_or_cycle_until_stopped(
        served: tuple[FakeHost, Behaviour]) -> None:
    host, _ = served
    done: list[int] = []
    lock = threading.Lock()

    def task(n: int) -> Any:
        def run(client: TimedClient, tally: Tally) -> None:
            with lock:
                done.append(n)
        return run

    tally = Tally()
    pool = run_threads(host, [task(i) for i in range(25)], 4, tally)
    assert join_all(pool, deadline=time.monotonic() + 10) == []
    assert sorted(done) == list(range(25))

    done.clear()
    stop = threading.Event()
    pool = run_threads(host, [task(0), task(1)], 3, tally, stop)
    deadline = time.monotonic() + 10
    while len(done) < 50 and time.monotonic() < deadline:
        time.sleep(0.005)
    stop.set()
    assert join_all(pool, deadline=time.monotonic() + 10) == []
    assert len(done) >= 50 and set(done) == {0, 1}


# -- memory -------------------------------------------------------------------------------


def test_memory_probe_collects_and_reports_this_process() -> None:
    out = probe_memory(None, {})  # type: ignore[arg-type]  # the probe does not use the server
    assert out["pid"] == os.getpid()
    assert out["rss_kb"] > 1000 and out["peak_kb"] >= out["rss_kb"]
    assert out["allocated_blocks"] > 0 and out["gc_collected"] >= 0


def test_rss_is_read_by_the_parent_only_for_its_own_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        rss = parent_rss_mb(child.pid)
        assert rss is not None and rss > 0
        assert parent_rss_mb(os.getpid()) is None  # not our child: not trusted
    finally:
        child.kill()
        child.wait()


@dataclass
class _ProbeCtx:
    """A context whose worker is this process (not the parent's child)."""

    calls: int = 0

    def probe(self, op: str, **args: Any) -> dict[str, Any]:
        assert op == "perf.memory"
        self.calls += 1
        return {"pid": os.getpid(), "rss_kb": 51200 + self.calls * 1024, "allocated_blocks": 9}


def test_memory_watch_falls_back_to_the_workers_word_and_keeps_order() -> None:
    ctx = _ProbeCtx()
    watch = MemoryWatch(ctx)  # type: ignore[arg-type]
    watch.sample()
    for t in (0.5, 1.0, 1.5):
        watch.tick(t, 2.0)
    watch.sample()
    assert watch.samples[0].at_s == -1.0
    assert [s.at_s for s in watch.window(0.25)] == [0.5, 1.0, 1.5, 2.001]
    assert [s.rss_mb for s in watch.samples] == [51.0, 52.0, 53.0, 54.0, 55.0]
    assert watch.figure()["rss_source"] == ["worker"]


def test_load_targets_weigh_own_routes_more() -> None:
    from dufflebag_harness.conformance._load_runner import OWN_WEIGHT, load_targets

    own, shared = Target("own", "GET", "/o"), Target("core", "GET", "/c")
    assert OWN_WEIGHT > 1
    assert load_targets([own], shared) == [(own, OWN_WEIGHT), (shared, 1)]


def test_overhead_rounds_stop_once_the_median_is_over_the_limit() -> None:
    from dufflebag_harness.conformance.performance import OVERHEAD_LIMIT_MS, _median_decided

    over, under = {"p95": OVERHEAD_LIMIT_MS + 1}, {"p95": 0.1}
    assert not _median_decided({"core": [over, over], "other": [under, under]}, planned=5)
    assert _median_decided({"core": [over, under, over, over], "other": [under] * 4}, planned=5)
    assert not _median_decided({"core": [over, under, under, over]}, planned=5)
