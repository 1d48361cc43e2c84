"""The runner builds its report with ``reports.build_report``, the builder the report tests use.

A recorded run (results, workers, waivers, an ``--only`` selection) is turned
into a report by the runner; the test builds the same report from the same
facts with ``build_report`` itself and compares, then checks what the run
implies by hand (level, summary, skipped pairs, validity, evidence cap).
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
from pathlib import Path
from typing import Any

import pytest
from _cli import write_extension

from dufflebag_harness import HOST_API_VERSION, __version__
from dufflebag_harness.conformance import (
    Catalog,
    CheckFailed,
    CheckResult,
    CheckSpec,
    Severity,
    Status,
    load_checks,
)
from dufflebag_harness.outside.exit_codes import LEVEL_EXIT
from dufflebag_harness.outside.loader import artifact_digest, load_manifest
from dufflebag_harness.outside.runner.assemble import RunRecord, assemble_report
from dufflebag_harness.outside.runner.backends import Backends
from dufflebag_harness.outside.runner.environment import harness_digest
from dufflebag_harness.outside.runner.events import EventBus
from dufflebag_harness.outside.runner.execute import Executor
from dufflebag_harness.outside.runner.plan import PlannedPair
from dufflebag_harness.outside.worker_client import WorkerInfo
from dufflebag_harness.reports import build_report, make_result, validate
from dufflebag_harness.reports._evidence import EVIDENCE_LIMIT, REDACTED

CATALOG: list[dict[str, Any]] = [
    {"id": "IS-01", "title": "Cannot read other schemas", "severity": "required",
     "backends": ["postgresql", "sqlite"], "requires": ["REQ-1.5"]},
    {"id": "LC-01", "title": "Metadata equals manifest", "severity": "required",
     "backends": ["sqlite"], "requires": ["REQ-1.1"]},
    {"id": "PE-02", "title": "Declared permissions are used", "severity": "advisory",
     "backends": ["sqlite"], "requires": ["REQ-2.1"]},
    {"id": "RT-02", "title": "Route escapes are refused", "severity": "required",
     "backends": ["mock"], "requires": ["REQ-1.2"]},
]
STARTED = dt.datetime(2026, 11, 20, 11, 59, 17, 654321, tzinfo=dt.UTC)
FINISHED = dt.datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=dt.UTC)
RUN_ID = "6f1c2a52-8d1e-4d4b-9b53-1f0f6c3e8a11"
FINGERPRINT = "B" * 40
SECRET = "s3cr3t-t0k3n-value"
#: Evidence larger than the one cap, with a secret in it.
BIG_EVIDENCE = {"token": SECRET, "body": "x" * 9000}
PG = {"version": "16.4", "provider": "local"}
WAIVERS = """
[[waivers]]
check = "PE-02"
reason = "read-only by design"
expires = 2027-06-30

[[waivers]]
check = "LC-01"
reason = "please"
expires = 2099-01-01
"""


def _extension(tmp_path: Path) -> Path:
    root = write_extension(tmp_path, "recorded", """
        from dufflebag_harness.sdk import Extension

        class Ext(Extension):
            pass
    """)
    with (root / "extension.toml").open("a") as toml:
        toml.write(WAIVERS)
    return root


SANDBOX: dict[str, Any] = {
    "tool": "bubblewrap", "version": "0.8.0", "namespaces": ["ipc", "mnt", "net", "pid", "user"],
    "uid": 65534, "host_uid": 0, "network": "none",
    "visible": [{"path": "/usr", "mode": "ro", "kind": "bind"}],
    "memory_limit_mb": 1280, "rlimit": "RLIMIT_DATA",
}


def _worker(uid: int, sandboxed: bool, rss: float, note: str) -> WorkerInfo:
    return WorkerInfo(uid=uid, pid=4242, python="3.11.9",
                      sandbox=dict(SANDBOX) if sandboxed else None,
                      isolation_note=note, peak_rss_mb=rss)


def _result(check: str, backend: str, status: Status, severity: Severity, *,
            reason: str = "", evidence: dict[str, Any] | None = None,
            self_reported: bool = False, attempts: int = 1) -> CheckResult:
    title = next(c["title"] for c in CATALOG if c["id"] == check)
    return CheckResult(check=check, backend=backend, status=status, severity=severity,
                       title=title, reason=reason, evidence=evidence or {},
                       duration_s=0.123456, self_reported=self_reported, attempts=attempts)


def test_the_runner_report_is_build_report_of_the_same_run(tmp_path: Path) -> None:
    root = _extension(tmp_path)
    manifest, digest = load_manifest(root), artifact_digest(root)
    record = RunRecord(
        run_id=RUN_ID, manifest=manifest, digest=digest,
        catalog=Catalog(tuple(CATALOG)), profile="full", only=["IS-01@sqlite", "LC-01", "PE-02"],
        seed=77, started=STARTED, finished=FINISHED, duration_s=42.4696,
        results=[  # in run order, not report order
            _result("PE-02", "sqlite", Status.FAIL, Severity.ADVISORY,
                    reason="permission never used", evidence=BIG_EVIDENCE),
            _result("LC-01", "sqlite", Status.PASS, Severity.REQUIRED, self_reported=True),
            _result("IS-01", "sqlite", Status.PASS, Severity.REQUIRED, attempts=2),
        ],
        figures={"overhead.p95_ms": 1.5},
        backends_used=["sqlite", "postgresql"], postgresql=dict(PG),
        workers=[_worker(65534, True, 80.5, "sandboxed"),
                 _worker(0, False, 120.25, "no sandbox on this machine")],
        worker_notes=["worker restarted after: killed"],
    )

    report = assemble_report(record, fingerprint=FINGERPRINT, development_key=True)

    expected = build_report(
        report_id=RUN_ID,
        harness={"name": "dufflebag-harness", "version": __version__,
                 "digest": harness_digest()},
        host_api_version=HOST_API_VERSION,
        catalog_checks=[
            {"id": "IS-01", "title": "Cannot read other schemas", "severity": "required",
             "backends": ["postgresql", "sqlite"], "requires": ["REQ-1.5"]},
            {"id": "LC-01", "title": "Metadata equals manifest", "severity": "required",
             "backends": ["sqlite"], "requires": ["REQ-1.1"]},
            {"id": "PE-02", "title": "Declared permissions are used", "severity": "advisory",
             "backends": ["sqlite"], "requires": ["REQ-2.1"]},
            {"id": "RT-02", "title": "Route escapes are refused", "severity": "required",
             "backends": ["mock"], "requires": ["REQ-1.2"]},
        ],
        extension={"name": "recorded", "version": "1.0.0",
                   "artifact": {"kind": "folder", "digest": digest.digest,
                                "files": dict(digest.files)}},
        environment={"python": platform.python_version(),
                     "implementation": sys.implementation.name,
                     "os": f"{platform.system()} {platform.release()}",
                     "machine": platform.machine(),
                     "backends": ["postgresql", "sqlite"],
                     "postgresql": {"version": "16.4", "provider": "local"},
                     # one worker ran without the sandbox: the run has no sandbox record
                     "worker": {"sandbox": None, "uid": 65534, "python": "3.11.9",
                                "peak_rss_mb": 120.25, "note": "sandboxed",
                                "restarts": ["worker restarted after: killed"]}},
        run={"profile": "full", "only": ["IS-01@sqlite", "LC-01", "PE-02"], "seed": 77,
             "started": "2026-11-20T11:59:17Z", "finished": "2026-11-20T12:00:00Z",
             "duration_s": 42.47},
        results=[
            make_result("IS-01", "sqlite", "pass", "required",
                        title="Cannot read other schemas", duration_s=0.123456, attempts=2),
            make_result("LC-01", "sqlite", "pass", "required",
                        title="Metadata equals manifest", duration_s=0.123456,
                        self_reported=True),
            make_result("PE-02", "sqlite", "fail", "advisory",
                        title="Declared permissions are used", reason="permission never used",
                        evidence=BIG_EVIDENCE, duration_s=0.123456),
        ],
        unplanned="not selected (--only)",
        figures={"overhead.p95_ms": 1.5},
        waivers=[{"check": "PE-02", "reason": "read-only by design", "expires": "2027-06-30"},
                 {"check": "LC-01", "reason": "please", "expires": "2099-01-01"}],
        signer={"fingerprint": FINGERPRINT, "development_key": True},
        # every result, unplanned ones too, carries its check's registered fix text
        fixes={check: load_checks()[check].fix for check in ("IS-01", "LC-01", "PE-02", "RT-02")},
    )
    assert report == expected
    validate(report)
    assert all(r["fix"] and r["docs"] == f"docs/checks.md#{r['check'].lower()}"
               for r in report["results"])

    # what the recorded run implies, worked out by hand
    assert report["level"] == "provisional"  # --only never certifies; nothing required failed
    assert report["summary"] == {"pass": 2, "fail": 1, "error": 0, "skipped": 2, "flaky": 0,
                                 "required_total": 4, "required_passed": 2}
    assert [(r["check"], r["backend"], r["status"], r["reason"]) for r in report["results"]] == [
        ("IS-01", "postgresql", "skipped", "not selected (--only)"),
        ("IS-01", "sqlite", "pass", ""),
        ("LC-01", "sqlite", "pass", ""),
        ("PE-02", "sqlite", "fail", "permission never used"),
        ("RT-02", "mock", "skipped", "not selected (--only)"),
    ]
    assert [(w["check"], w["applied"]) for w in report["waivers"]] == [
        ("PE-02", True), ("LC-01", False)]
    assert report["validity"] == {"not_before": "2026-11-20T12:00:00Z",
                                  "not_after": "2027-11-20T12:00:00Z"}
    _assert_capped_once(report["results"][3]["evidence"], BIG_EVIDENCE)


def _assert_capped_once(evidence: dict[str, Any], original: dict[str, Any]) -> None:
    """Evidence over the limit becomes the one marked preview of the *original* evidence."""
    redacted = {**original, "token": REDACTED}
    size = len(json.dumps(redacted, indent=2, sort_keys=True, ensure_ascii=False).encode())
    assert size > EVIDENCE_LIMIT
    assert evidence["truncated"] is True
    assert evidence["original_bytes"] == size  # not the size of an earlier excerpt
    assert evidence["preview"].startswith('{\n  "body": "xxx')
    assert SECRET not in json.dumps(evidence)


class _StubWorker:
    """Just enough of a worker for a check that fails before it asks for anything."""

    dead = None

    def __init__(self) -> None:
        self.info = _worker(65534, True, 10.0, "stub")

    def close(self) -> None:
        pass


def _fails_with_big_evidence(ctx: Any) -> None:
    raise CheckFailed("permission never used", BIG_EVIDENCE)


def test_the_executor_keeps_evidence_whole_for_the_report_to_cap(tmp_path: Path) -> None:
    root = _extension(tmp_path)
    spec = CheckSpec(id="PE-02", title="Declared permissions are used", requires=("REQ-2.1",),
                     severity=Severity.ADVISORY, backends=("sqlite",),
                     func=_fails_with_big_evidence)
    executor = Executor(manifest=load_manifest(root), profile="full", seed=1, bus=EventBus(),
                        start_worker=_StubWorker,  # type: ignore[arg-type]
                        companions=(), backends=Backends())
    try:
        results = executor.run([PlannedPair(spec, "sqlite")])
    finally:
        executor.close()
    assert [r.status for r in results] == [Status.FAIL]
    assert results[0].evidence == BIG_EVIDENCE

    record = RunRecord(
        run_id=RUN_ID, manifest=load_manifest(root), digest=artifact_digest(root),
        catalog=Catalog(tuple(CATALOG)), profile="full", only=["PE-02"], seed=1,
        started=STARTED, finished=FINISHED, duration_s=1.0, results=results, figures={},
        backends_used=["sqlite"], postgresql=None, workers=executor.worker_infos,
        worker_notes=[],
    )
    report = assemble_report(record, fingerprint=FINGERPRINT, development_key=False)
    validate(report)
    (pe02,) = [r for r in report["results"] if r["check"] == "PE-02"]
    _assert_capped_once(pe02["evidence"], BIG_EVIDENCE)


@pytest.mark.parametrize(("level", "code"), [("certified", 0), ("failed", 1),
                                           ("provisional", 3)])
def test_certify_exits_with_the_code_of_its_level(level: str, code: int) -> None:
    assert LEVEL_EXIT[level] == code
