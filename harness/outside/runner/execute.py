"""Run planned pairs: fresh hosts per check, blockers honoured, fail closed."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from dufflebag_harness.conformance import CheckFailed, CheckResult, CheckSkipped, Severity, Status
from dufflebag_harness.outside.loader import Manifest
from dufflebag_harness.outside.runner.backends import Backends
from dufflebag_harness.outside.runner.context import HostStartError, RunContext
from dufflebag_harness.outside.runner.events import CheckFinished, CheckStarted, EventBus
from dufflebag_harness.outside.runner.plan import PlannedPair
from dufflebag_harness.outside.test_run import TestRunResult
from dufflebag_harness.outside.worker_client import WorkerClient, WorkerError


class Executor:
    """Executes pairs one by one against a (restartable) worker."""

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
    ) -> None:
        self.tests = tests
        self.dependencies = list(dependencies)
        self.backends = backends
        self._start_reference = start_reference
        self.reference_worker: WorkerClient | None = None
        self.manifest = manifest
        self.profile = profile
        self.seed = seed
        self.bus = bus
        self._start_worker = start_worker
        self.companions = list(companions)
        self.worker: WorkerClient | None = None
        self.figures: dict[str, Any] = {}
        self.worker_notes: list[str] = []
        self.worker_infos: list[Any] = []

    def _ensure_worker(self) -> WorkerClient:
        if self.worker is None or self.worker.dead:
            if self.worker is not None:
                self.worker_notes.append(f"worker restarted after: {self.worker.dead}")
                self._retire()
            self.worker = self._start_worker()
        return self.worker

    def _reference(self) -> WorkerClient:
        """The clean worker (companions only), started on first use."""
        if self._start_reference is None:
            raise WorkerError("no reference worker factory")
        if self.reference_worker is None or self.reference_worker.dead:
            if self.reference_worker is not None:
                self.reference_worker.close()
            self.reference_worker = self._start_reference()
        return self.reference_worker

    def _retire(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker_infos.append(self.worker.info)
            self.worker = None

    def close(self) -> None:
        self._retire()
        if self.reference_worker is not None:
            self.reference_worker.close()
            self.reference_worker = None

    def run(self, plan: Sequence[PlannedPair]) -> list[CheckResult]:
        results: dict[str, CheckResult] = {}
        for planned in plan:
            self.bus.emit(CheckStarted(planned.spec.id, planned.backend))
            result = self._run_one(planned, results)
            results[planned.pair] = result
            self.bus.emit(CheckFinished(result))
        return list(results.values())

    def _blocked(self, planned: PlannedPair, done: dict[str, CheckResult]) -> str:
        for blocker in planned.spec.blocked_by:
            prior = done.get(f"{blocker}@{planned.backend}")
            if prior is not None and prior.status in (Status.FAIL, Status.ERROR):
                return f"blocked by {blocker}"
        return ""

    def _run_one(self, planned: PlannedPair, done: dict[str, CheckResult]) -> CheckResult:
        spec = planned.spec
        reason = planned.skip_reason or self._blocked(planned, done)
        if reason:
            return CheckResult(check=spec.id, backend=planned.backend, status=Status.SKIPPED,
                               severity=spec.severity, title=spec.title, reason=reason)
        first = self._attempt(planned)
        if first.status is Status.FAIL and spec.severity is Severity.REQUIRED:
            second = self._attempt(planned)
            if second.status is Status.PASS:
                first.status = Status.FLAKY
                first.reason = f"failed once, passed on re-run: {first.reason}"
            first.attempts = 2
        return first

    def _attempt(self, planned: PlannedPair) -> CheckResult:
        spec = planned.spec
        t0 = time.perf_counter()
        status, reason, evidence = Status.PASS, "", {}
        ctx: RunContext | None = None
        try:
            worker = self._ensure_worker()
            ctx = RunContext(
                check_id=spec.id, backend=planned.backend, profile=self.profile,
                seed=self.seed, extension=self.manifest.name, manifest=self.manifest,
                worker=worker, backends=self.backends, companion_names=self.companions,
                reference=self._reference if self._start_reference else None,
                dependency_names=self.dependencies, tests=self.tests,
            )
            spec.func(ctx)
        except CheckFailed as exc:
            status, reason, evidence = Status.FAIL, exc.reason, exc.evidence
        except CheckSkipped as exc:
            status, reason = Status.SKIPPED, exc.reason
        except WorkerError as exc:
            status, reason = Status.ERROR, f"worker failed: {exc}"
            if self.worker is not None:
                evidence = {"worker_log_tail": self.worker.log_tail(2000)}
        except HostStartError as exc:
            status, reason = Status.ERROR, str(exc)
        except Exception as exc:
            status = Status.ERROR
            reason = f"harness error: {type(exc).__name__}: {exc}"
            evidence = {"traceback": traceback.format_exc(limit=6)[-3000:]}
        finally:
            if ctx is not None:
                ctx.close()
                self.figures.update(ctx.figures)
        return CheckResult(
            check=spec.id, backend=planned.backend, status=status, severity=spec.severity,
            title=spec.title, reason=reason, evidence=evidence,
            duration_s=time.perf_counter() - t0,
            self_reported=bool(ctx and ctx.self_reported),
        )
