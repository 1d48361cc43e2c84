"""Run planned pairs: fresh hosts per check, blockers honoured, fail closed, in parallel.

Pairs run on *lanes*: each lane has its own worker (and, when a check asks for one,
its own clean reference worker), so two checks never share a worker and a check's
``outside()`` view of "its" worker sees only its own hosts. A pair starts once every
pair that blocks it has finished (its verdict then decides whether it runs at all).
``exclusive`` checks, whose verdicts rest on wall-clock timing or load, run with
nothing beside them: the scheduler lets the lanes drain first and starts nothing
else until they are done, so parallelism cannot make a timing verdict flaky.

A certification has a total deadline: pairs not started when it passes are skipped
with the reason (a run with a skipped required check does not certify).
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from dufflebag_harness.conformance import CheckFailed, CheckResult, CheckSkipped, Severity, Status
from dufflebag_harness.outside.loader import Manifest
from dufflebag_harness.outside.runner._ast_lock import serialized_ast_parse
from dufflebag_harness.outside.runner.backends import Backends
from dufflebag_harness.outside.runner.context import HostStartError, RunContext, SharedValues
from dufflebag_harness.outside.runner.events import CheckFinished, CheckStarted, EventBus
from dufflebag_harness.outside.runner.plan import PlannedPair, prerequisites
from dufflebag_harness.outside.test_run import TestRunResult
from dufflebag_harness.outside.worker_client import WorkerClient, WorkerError

__all__ = ["Executor"]


class _Reference:
    """The clean reference worker (the harness and companions, never the extension),
    one for the whole certification, shared by the lanes.

    Its checks start hosts of their own in it and talk to them over loopback; the pipe
    serializes the calls. It is started in the background as soon as the first lane has
    its worker (LC-03 times a bare host there, early in every run), by a thread that
    lives until the run ends: the sandbox dies with the thread that started it
    (bubblewrap's parent-death signal).
    """

    def __init__(self, start: Callable[[], WorkerClient]) -> None:
        self._start = start
        self._starting = threading.Lock()  # one start at a time; askers wait for it
        self._state = threading.Lock()
        self._worker: WorkerClient | None = None
        self._closing = threading.Event()
        self._prestarted = False
        self._thread: threading.Thread | None = None
        #: An interruption that surfaced on the prestart thread; the executor raises it
        #: on the main thread, where the run unwinds.
        self.interrupted: BaseException | None = None

    def prestart(self) -> None:
        with self._state:
            if self._prestarted or self._closing.is_set():
                return
            self._prestarted = True

        def run() -> None:
            try:
                self.get()
            except Exception:
                pass  # a real failure recurs when a check asks for the worker
            except BaseException as exc:  # a signal held while the worker started is
                self.interrupted = exc  # raised on this thread: it belongs to the run
            self._closing.wait()

        self._thread = threading.Thread(target=run, name="dufflebag-reference", daemon=True)
        self._thread.start()

    def get(self) -> WorkerClient:
        with self._starting:
            with self._state:
                if self._closing.is_set():
                    raise WorkerError("the run is ending")
                current = self._worker
            if current is not None and not current.dead:
                return current
            if current is not None:
                current.close()
            made = self._start()
            with self._state:
                if not self._closing.is_set():
                    self._worker = made
                    return made
            made.close()
            raise WorkerError("the run is ending")

    def close(self) -> None:
        """Close the worker, and wait for one still starting to be closed as it is made:
        a daemon thread cut off at the interpreter's exit would leave its folders behind."""
        with self._state:
            self._closing.set()
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()


class _Lane:
    """One worker at a time for one pair at a time; restarted when it dies.

    :meth:`close` may come from another thread (an interrupted run) while this lane is
    starting a worker: the worker is then closed as soon as it is whole, never kept.
    """

    def __init__(self, start_worker: Callable[[], WorkerClient],
                 reference: _Reference | None) -> None:
        self._start_worker = start_worker
        self._reference = reference
        self.worker: WorkerClient | None = None
        self.notes: list[str] = []
        self.infos: list[Any] = []
        self.closed = False
        self._lock = threading.Lock()

    def _keep(self, made: WorkerClient) -> WorkerClient:
        with self._lock:
            if not self.closed:
                return made
        made.close()
        raise WorkerError("the run is ending")

    def ensure_worker(self) -> WorkerClient:
        with self._lock:
            if self.closed:
                raise WorkerError("the run is ending")
            current = self.worker
        if current is not None and not current.dead:
            return current
        if current is not None:
            self.notes.append(f"worker restarted after: {current.dead}")
            self.retire()
        made = self._keep(self._start_worker())
        with self._lock:
            self.worker = made
        if self._reference is not None:
            self._reference.prestart()
        return made

    def fresh_worker(self) -> _FreshWorker:
        """A worker of its own for one check, started on first use and closed after it;
        the lane's worker stays as it is for the checks that follow."""
        return _FreshWorker(lambda: self._keep(self._start_worker()), self.infos)

    def reference(self) -> WorkerClient:
        """The certification's clean worker (companions only)."""
        if self._reference is None:
            raise WorkerError("no reference worker factory")
        return self._reference.get()

    def retire(self) -> None:
        with self._lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.close()
            if hasattr(worker, "info"):
                self.infos.append(worker.info)

    def close(self) -> None:
        with self._lock:
            self.closed = True
        self.retire()


class _FreshWorker:
    """A worker with the extension loaded that no other check ran in (``fresh_worker``)."""

    def __init__(self, start: Callable[[], WorkerClient], infos: list[Any]) -> None:
        self._start = start
        self._infos = infos  # the lane's record of the workers it ran, for the report
        self.worker: WorkerClient | None = None

    def get(self) -> WorkerClient:
        if self.worker is None:
            self.worker = self._start()
        return self.worker

    def close(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.close()
            if hasattr(worker, "info"):
                self._infos.append(worker.info)


class Executor:
    """Executes pairs on ``lanes`` workers at once (1: one after another)."""

    def __init__(
        self,
        *,
        manifest: Manifest,
        profile: str,
        seed: int,
        bus: EventBus,
        start_worker: Callable[[], WorkerClient],
        companions: Sequence[str],
        backends: Backends,
        start_reference: Callable[[], WorkerClient] | None = None,
        dependencies: Sequence[str] = (),
        tests: Callable[[], TestRunResult] | None = None,
        lanes: int = 1,
        deadline_s: float | None = None,
    ) -> None:
        if lanes < 1:
            raise ValueError("lanes must be at least 1")
        self.tests = tests
        self.dependencies = list(dependencies)
        self.backends = backends
        self.manifest = manifest
        self.profile = profile
        self.seed = seed
        self.bus = bus
        self.companions = list(companions)
        self.deadline_s = deadline_s
        self._reference = _Reference(start_reference) if start_reference is not None else None
        self._lanes = [_Lane(start_worker, self._reference) for _ in range(lanes)]
        self._has_reference = start_reference is not None
        self.figures: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._shared = SharedValues()

    @property
    def worker_infos(self) -> list[Any]:
        return [info for lane in self._lanes for info in lane.infos]

    @property
    def worker_notes(self) -> list[str]:
        return [note for lane in self._lanes for note in lane.notes]

    def close(self) -> None:
        for lane in self._lanes:
            lane.close()
        if self._reference is not None:
            self._reference.close()

    # -- scheduling --------------------------------------------------------------
    def run(self, plan: Sequence[PlannedPair]) -> list[CheckResult]:
        """Every pair's result, in plan order."""
        pending = list(plan)
        running: dict[str, PlannedPair] = {}
        results: dict[str, CheckResult] = {}
        cond = threading.Condition()
        started = time.monotonic()
        failure: list[BaseException] = []

        gates = {b for p in plan for b in prerequisites(p.spec)}

        def settled(planned: PlannedPair) -> bool:
            waiting = {p.pair for p in pending} | set(running)
            return not any(f"{b}@{planned.backend}" in waiting
                           for b in prerequisites(planned.spec))

        def next_pair() -> PlannedPair | None:
            if any(p.spec.exclusive for p in running.values()):
                return None
            for planned in pending:
                if planned.skip_reason:
                    return planned
                if not settled(planned):
                    continue
                if planned.spec.exclusive and running:
                    if planned.spec.id in gates:
                        return None  # others wait for it: drain the lanes, then run it
                    continue  # it runs alone once nothing else is ready
                return planned
            return pending[0] if pending and not running else None  # a blocker cycle

        def past_deadline() -> bool:
            return self.deadline_s is not None and time.monotonic() - started > self.deadline_s

        def lane_loop(lane: _Lane) -> None:
            try:
                while True:
                    with cond:
                        while True:
                            if not pending or lane.closed:
                                return
                            if past_deadline():
                                self._skip_rest(pending, results, cond)
                                return
                            planned = next_pair()
                            if planned is not None:
                                pending.remove(planned)
                                running[planned.pair] = planned
                                snapshot = dict(results)
                                break
                            cond.wait(0.5)
                    self.bus.emit(CheckStarted(planned.spec.id, planned.backend))
                    try:
                        result = self._run_one(lane, planned, snapshot)
                    except BaseException:
                        with cond:
                            running.pop(planned.pair, None)
                            cond.notify_all()
                        raise
                    with cond:  # one step: a pair it blocks sees its verdict when it starts
                        results[planned.pair] = result
                        running.pop(planned.pair, None)
                        cond.notify_all()
                    self.bus.emit(CheckFinished(result))
            except BaseException as exc:  # an interruption or a harness bug: end the run
                failure.append(exc)
                with cond:
                    for other in self._lanes:
                        other.closed = True
                    cond.notify_all()
                self.close()  # what the other lanes wait on ends now

        threads = [threading.Thread(target=lane_loop, args=(lane,), daemon=True,
                                    name=f"dufflebag-lane-{i}")
                   for i, lane in enumerate(self._lanes)]
        with serialized_ast_parse():
            self._drive(threads, cond)
        if failure:
            raise failure[0]
        return [results[p.pair] for p in plan if p.pair in results]

    def _drive(self, threads: list[threading.Thread], cond: threading.Condition) -> None:
        """Start the lanes and wait for them; on an interruption, end them first."""
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.2)  # short joins: Ctrl-C and SIGTERM reach this thread
                    if self._reference is not None and self._reference.interrupted:
                        raise self._reference.interrupted
        except BaseException:
            with cond:
                for lane in self._lanes:
                    lane.closed = True
                cond.notify_all()
            self.close()  # kills what the lanes wait on
            for thread in threads:
                thread.join(60)  # a lane starting a worker closes it once it is whole
            raise

    def _skip_rest(self, pending: list[PlannedPair], results: dict[str, CheckResult],
                   cond: threading.Condition) -> None:
        """Called with ``cond`` held: the deadline passed, nothing more starts."""
        for planned in list(pending):
            pending.remove(planned)
            spec = planned.spec
            reason = planned.skip_reason or (
                f"not started: the certification's deadline of {self.deadline_s:.0f} s passed")
            result = CheckResult(check=spec.id, backend=planned.backend, status=Status.SKIPPED,
                                 severity=spec.severity, title=spec.title, reason=reason)
            results[planned.pair] = result
            self.bus.emit(CheckFinished(result))
        cond.notify_all()

    # -- one pair ----------------------------------------------------------------
    @staticmethod
    def _blocked(planned: PlannedPair, done: dict[str, CheckResult]) -> str:
        for blocker in planned.spec.blocked_by:
            prior = done.get(f"{blocker}@{planned.backend}")
            if prior is not None and prior.status in (Status.FAIL, Status.ERROR):
                return f"blocked by {blocker}"
        return ""

    def _run_one(self, lane: _Lane, planned: PlannedPair,
                 done: dict[str, CheckResult]) -> CheckResult:
        spec = planned.spec
        reason = planned.skip_reason or self._blocked(planned, done)
        if reason:
            return CheckResult(check=spec.id, backend=planned.backend, status=Status.SKIPPED,
                               severity=spec.severity, title=spec.title, reason=reason)
        first = self._attempt(lane, planned, 1)
        if (first.status is Status.FAIL and spec.severity is Severity.REQUIRED
                and spec.rerun_on_fail):
            second = self._attempt(lane, planned, 2)
            if second.status is Status.PASS:
                first.status = Status.FLAKY
                first.reason = f"failed once, passed on re-run: {first.reason}"
            first.attempts = 2
        return first

    def _attempt(self, lane: _Lane, planned: PlannedPair, attempt: int) -> CheckResult:
        spec = planned.spec
        t0 = time.perf_counter()
        status, reason, evidence = Status.PASS, "", {}
        ctx: RunContext | None = None
        fresh: _FreshWorker | None = None
        try:
            source = lane.ensure_worker
            if spec.fresh_worker:  # nothing an earlier check left in a process counts
                fresh = lane.fresh_worker()
                source = fresh.get
            ctx = RunContext(
                check_id=spec.id, backend=planned.backend, profile=self.profile,
                seed=self.seed, extension=self.manifest.name, manifest=self.manifest,
                worker_source=source, backends=self.backends,
                companion_names=self.companions,
                reference=lane.reference if self._has_reference else None,
                dependency_names=self.dependencies, tests=self.tests,
                shared=self._shared, attempt=attempt,
            )
            spec.func(ctx)
        except CheckFailed as exc:
            status, reason, evidence = Status.FAIL, exc.reason, exc.evidence
        except CheckSkipped as exc:
            status, reason = Status.SKIPPED, exc.reason
        except WorkerError as exc:
            status, reason = Status.ERROR, f"worker failed: {exc}"
            if lane.worker is not None:
                evidence = {"worker_log_tail": lane.worker.log_tail(2000)}
        except HostStartError as exc:
            status, reason = Status.ERROR, str(exc)
        except Exception as exc:
            status = Status.ERROR
            reason = f"harness error: {type(exc).__name__}: {exc}"
            evidence = {"traceback": traceback.format_exc(limit=6)[-3000:]}
        finally:
            if ctx is not None:
                ctx.close()
                with self._lock:
                    self.figures.update(ctx.figures)
            if fresh is not None:
                fresh.close()
        return CheckResult(
            check=spec.id, backend=planned.backend, status=status, severity=spec.severity,
            title=spec.title, reason=reason, evidence=evidence,
            duration_s=time.perf_counter() - t0,
            self_reported=bool(ctx and ctx.self_reported),
        )
