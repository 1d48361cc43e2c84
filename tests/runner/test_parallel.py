"""Checks run on two lanes at once, but never beside an exclusive (timing, load) check,
never before what blocks them, and never past the certification's deadline.

The checks here are stand-ins that record when they ran; each lane gets a stub worker
(no extension code runs), so what is asserted is the executor's scheduling alone.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _cli import write_extension

from dufflebag_harness.conformance import CheckSpec, Severity, Status
from dufflebag_harness.outside.loader import load_manifest
from dufflebag_harness.outside.runner.backends import Backends
from dufflebag_harness.outside.runner.events import EventBus
from dufflebag_harness.outside.runner.execute import Executor
from dufflebag_harness.outside.runner.plan import PlannedPair

Span = tuple[str, float, float]


class _StubWorker:
    """Just enough of a worker for checks that never ask it for anything."""

    dead = None

    def close(self) -> None:
        pass


def _extension(tmp_path: Path) -> Path:
    return write_extension(tmp_path, "lanes", """
        from dufflebag_harness.sdk import Extension

        class Ext(Extension):
            pass
    """)


def _recorder(spans: list[Span], lock: threading.Lock, seconds: float,
              fail: bool = False) -> Callable[[Any], None]:
    def run(ctx: Any) -> None:
        t0 = time.monotonic()
        assert ctx.worker is not None  # a check that uses its lane's worker starts it
        time.sleep(seconds)
        with lock:
            spans.append((ctx.check_id, t0, time.monotonic()))
        if fail:
            from dufflebag_harness.conformance import CheckFailed
            raise CheckFailed("planted failure")
    return run


def _spec(check_id: str, func: Callable[[Any], None], *, exclusive: bool = False,
          blocked_by: tuple[str, ...] = (), after: tuple[str, ...] = ()) -> CheckSpec:
    return CheckSpec(id=check_id, title=check_id, requires=("REQ-1.1",),
                     severity=Severity.REQUIRED, backends=("sqlite",), func=func,
                     blocked_by=blocked_by, exclusive=exclusive, after=after)


def _run(tmp_path: Path, specs: list[CheckSpec], *, lanes: int = 2,
         deadline_s: float | None = None) -> dict[str, Any]:
    started: list[Any] = []

    def start_worker() -> Any:
        worker = _StubWorker()
        started.append(worker)
        return worker

    executor = Executor(manifest=load_manifest(_extension(tmp_path)), profile="full", seed=1,
                        bus=EventBus(), start_worker=start_worker, companions=(),
                        backends=Backends(), lanes=lanes, deadline_s=deadline_s)
    try:
        results = executor.run([PlannedPair(s, "sqlite") for s in specs])
    finally:
        executor.close()
    return {"results": {r.check: r for r in results}, "workers": len(started)}


def _overlap(a: Span, b: Span) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def test_independent_checks_run_side_by_side_each_on_its_own_worker(tmp_path: Path) -> None:
    spans: list[Span] = []
    lock = threading.Lock()
    specs = [_spec(f"XX-0{i}", _recorder(spans, lock, 0.4)) for i in range(1, 5)]
    run = _run(tmp_path, specs)
    assert {r.status for r in run["results"].values()} == {Status.PASS}
    assert run["workers"] == 2
    assert any(_overlap(a, b) for a in spans for b in spans if a is not b)


def test_a_check_that_never_touches_the_worker_starts_none(tmp_path: Path) -> None:
    """Static checks (scans of files, the test run) share the lanes without making them
    start a worker: each start costs a process and a second of CPU."""
    run = _run(tmp_path, [_spec("XX-01", lambda ctx: None), _spec("XX-02", lambda ctx: None)])
    assert {r.status for r in run["results"].values()} == {Status.PASS}
    assert run["workers"] == 0


def test_a_fresh_worker_check_gets_its_own_and_the_lane_keeps_its_worker(
        tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def record(name: str) -> Callable[[Any], None]:
        def run(ctx: Any) -> None:
            seen[name] = ctx.worker
        return run

    specs = [_spec("XX-01", record("a")),
             dataclasses.replace(_spec("XX-02", record("fresh"), after=("XX-01",)),
                                 fresh_worker=True),
             _spec("XX-03", record("b"), after=("XX-02",))]
    run = _run(tmp_path, specs, lanes=1)
    assert {r.status for r in run["results"].values()} == {Status.PASS}
    assert seen["a"] is seen["b"]  # the lane's worker outlived the fresh one
    assert seen["fresh"] is not seen["a"]
    assert run["workers"] == 2


def test_an_exclusive_check_runs_alone(tmp_path: Path) -> None:
    spans: list[Span] = []
    lock = threading.Lock()
    specs = [
        _spec("XX-01", _recorder(spans, lock, 0.3)),
        _spec("XX-02", _recorder(spans, lock, 0.3)),
        _spec("PF-09", _recorder(spans, lock, 0.3), exclusive=True),
        _spec("XX-03", _recorder(spans, lock, 0.3)),
        _spec("XX-04", _recorder(spans, lock, 0.3)),
        _spec("PF-08", _recorder(spans, lock, 0.3), exclusive=True),
    ]
    _run(tmp_path, specs)
    alone = [s for s in spans if s[0].startswith("PF")]
    assert len(alone) == 2 and len(spans) == 6
    for exclusive in alone:
        assert not [s for s in spans if s is not exclusive and _overlap(s, exclusive)]


def test_a_blocked_check_waits_for_its_blocker_and_follows_its_verdict(tmp_path: Path) -> None:
    spans: list[Span] = []
    lock = threading.Lock()
    specs = [
        _spec("XX-01", _recorder(spans, lock, 0.5, fail=True)),
        _spec("XX-02", _recorder(spans, lock, 0.1), blocked_by=("XX-01",)),
        _spec("XX-03", _recorder(spans, lock, 0.1)),
    ]
    run = _run(tmp_path, specs)
    assert run["results"]["XX-01"].status is Status.FAIL
    assert run["results"]["XX-02"].status is Status.SKIPPED
    assert run["results"]["XX-02"].reason == "blocked by XX-01"
    assert run["results"]["XX-03"].status is Status.PASS
    assert "XX-02" not in {s[0] for s in spans}


def test_a_check_after_another_waits_for_it_but_not_for_its_verdict(tmp_path: Path) -> None:
    spans: list[Span] = []
    lock = threading.Lock()
    specs = [
        _spec("XX-01", _recorder(spans, lock, 0.5, fail=True)),
        _spec("XX-02", _recorder(spans, lock, 0.1), after=("XX-01",)),
    ]
    run = _run(tmp_path, specs)
    assert run["results"]["XX-01"].status is Status.FAIL
    assert run["results"]["XX-02"].status is Status.PASS
    first = {s[0]: s for s in spans}
    # XX-01 failed twice (a required check is re-run once); XX-02 began after both
    assert min(s[1] for s in spans if s[0] == "XX-02") >= max(
        s[2] for s in spans if s[0] == "XX-01")
    assert "XX-02" in first


def test_nothing_starts_after_the_deadline(tmp_path: Path) -> None:
    spans: list[Span] = []
    lock = threading.Lock()
    specs = [_spec(f"XX-0{i}", _recorder(spans, lock, 0.6)) for i in range(1, 7)]
    run = _run(tmp_path, specs, deadline_s=0.3)
    statuses = [run["results"][f"XX-0{i}"].status for i in range(1, 7)]
    # the two lanes' first checks had started; the rest never did
    assert statuses.count(Status.PASS) == 2
    assert statuses.count(Status.SKIPPED) == 4
    skipped = [r for r in run["results"].values() if r.status is Status.SKIPPED]
    assert all("deadline of 0 s passed" in r.reason for r in skipped)
    assert len(spans) == 2


def test_lanes_parse_source_one_at_a_time(tmp_path: Path) -> None:
    """CPython 3.11 corrupts the AST constructor's depth when two threads build ASTs at
    once (a garbage-collector callback lets the threads switch in the middle): checks on
    two lanes both parse source (static checks, Hypothesis), so the run serialises it."""
    import ast
    import gc

    from dufflebag_harness.outside.runner._ast_lock import serialized_ast_parse

    source = Path(ast.__file__).read_text()
    errors: list[str] = []

    def parse_often() -> None:
        for _ in range(15):
            try:
                ast.parse(source)
            except SystemError as exc:
                errors.append(str(exc))
                return

    def switch(*_: Any) -> None:
        time.sleep(0.0001)

    original = ast.parse
    gc.callbacks.append(switch)
    try:
        with serialized_ast_parse():
            threads = [threading.Thread(target=parse_often) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        gc.callbacks.remove(switch)
    assert errors == []
    assert ast.parse is original


def test_a_signal_raised_while_the_reference_worker_starts_ends_the_run(
        tmp_path: Path) -> None:
    """The reference worker starts on a background thread, inside a block that holds
    signals until the worker is whole; a signal held there surfaces on that thread and
    must still end the run (it once vanished, and the run completed as if unsignalled)."""
    import signal

    from dufflebag_harness.outside.exit_codes import Interrupted

    def start_reference() -> Any:
        raise Interrupted(signal.SIGHUP)

    def slow(ctx: Any) -> None:
        assert ctx.worker is not None
        time.sleep(1)

    executor = Executor(manifest=load_manifest(_extension(tmp_path)), profile="full", seed=1,
                        bus=EventBus(), start_worker=_StubWorker, companions=(),
                        backends=Backends(), lanes=1, start_reference=start_reference)
    try:
        with pytest.raises(Interrupted):  # not a finished run with XX-01 passed
            executor.run([PlannedPair(_spec("XX-01", slow), "sqlite")])
    finally:
        executor.close()
