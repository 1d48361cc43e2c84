"""The runner's side of the report: what a finished run knows, as ``build_report``'s arguments.

Every rule of the report lives in ``dufflebag_harness.reports``: results are
made safe to sign by ``clean_result``; unplanned pairs, waivers, the catalog
version, level, summary and validity are decided by ``build_report``, the one
builder the report tests exercise too. This module only translates a
:class:`RunRecord` into their arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from dufflebag_harness import HOST_API_VERSION, __version__
from dufflebag_harness.conformance import Catalog, CheckResult, load_checks
from dufflebag_harness.outside.environments.trace import trace_result
from dufflebag_harness.outside.loader import ArtifactDigest, Manifest
from dufflebag_harness.outside.runner.environment import environment_facts, harness_digest
from dufflebag_harness.outside.worker_client import WorkerInfo

if TYPE_CHECKING:  # the report modules load when a report is built, not with the CLI
    from dufflebag_harness.reports.model import (
        CatalogCheck,
        EnvironmentInfo,
        ExtensionInfo,
        PostgresInfo,
    )
    from dufflebag_harness.reports.model import WorkerInfo as ReportWorker

#: Why a pair of the catalog that the run did not plan is recorded as skipped.
UNPLANNED_REASON = "not selected (--only)"


@dataclass
class RunRecord:
    """Everything a finished run knows, before levels and signatures."""

    run_id: str
    manifest: Manifest
    digest: ArtifactDigest
    catalog: Catalog
    profile: str
    only: Sequence[str] | None
    seed: int
    started: dt.datetime
    finished: dt.datetime
    duration_s: float
    results: list[CheckResult]
    figures: dict[str, Any]
    backends_used: list[str]
    postgresql: dict[str, Any] | None
    workers: list[WorkerInfo]
    worker_notes: list[str]


def _worker_section(record: RunRecord) -> ReportWorker:
    infos = record.workers
    return {
        # one record stands for the run only when every worker had it
        "sandbox": infos[0].sandbox if infos and all(i.sandboxed for i in infos) else None,
        "uid": infos[0].uid if infos else None,
        "python": infos[0].python if infos else None,
        "peak_rss_mb": max((i.peak_rss_mb for i in infos), default=0.0),
        "note": infos[0].isolation_note if infos else "no worker ran",
        "restarts": list(record.worker_notes),
    }


def _environment(record: RunRecord) -> EnvironmentInfo:
    facts = environment_facts()
    pg = record.postgresql
    postgresql: PostgresInfo | None = (
        None if pg is None else {"version": pg["version"], "provider": pg["provider"]})
    return {"python": facts["python"], "implementation": facts["implementation"],
            "os": facts["os"], "machine": facts["machine"],
            "backends": sorted(record.backends_used), "postgresql": postgresql,
            "worker": _worker_section(record)}


def _catalog_check(entry: dict[str, Any]) -> CatalogCheck:
    return {"id": entry["id"], "title": entry["title"], "severity": entry["severity"],
            "backends": list(entry["backends"]), "requires": list(entry["requires"])}


def _extension(m: Manifest, d: ArtifactDigest) -> ExtensionInfo:
    out: ExtensionInfo = {"name": m.name, "version": m.version,
                          "artifact": {"kind": d.kind, "digest": d.digest, "files": dict(d.files)}}
    if m.public_routes:  # declared open to anonymous writes, with the reason (AU-06)
        out["public_routes"] = [{"method": r.method, "path": r.path, "reason": r.reason}
                                for r in m.public_routes]
    return out


def assemble_report(
    record: RunRecord, *, fingerprint: str, development_key: bool
) -> dict[str, Any]:
    """The report of ``record``, built by :func:`~dufflebag_harness.reports.build_report`
    (as the plain ``dict`` the runner signs and its events carry)."""
    from dufflebag_harness.reports import build_report, clean_result, utc_timestamp

    m, d = record.manifest, record.digest
    # certify() refused any other profile before the run started
    profile = cast(Literal["full", "quick"], record.profile)
    report = dict(build_report(
        report_id=record.run_id,
        harness={"name": "dufflebag-harness", "version": __version__,
                 "digest": harness_digest()},
        host_api_version=HOST_API_VERSION,
        catalog_checks=[_catalog_check(e) for e in record.catalog.entries],
        extension=_extension(m, d),
        environment=_environment(record),
        run={"profile": profile, "only": list(record.only) if record.only else None,
             "seed": record.seed, "started": utc_timestamp(record.started),
             "finished": utc_timestamp(record.finished),
             "duration_s": round(record.duration_s, 3)},
        # a failure naming a dependency's files is marked inherited (evidence.traced)
        results=[clean_result(trace_result(r.to_json(), m.environment))
                 for r in record.results],
        unplanned=UNPLANNED_REASON,
        figures=record.figures,
        waivers=[w.to_json() for w in m.waivers],
        signer={"fingerprint": fingerprint, "development_key": development_key},
        # what to do about a failure, for every result: the check's own fix text
        fixes={spec.id: spec.fix for spec in load_checks()},
    ))
    if m.environment is not None:  # its declared Python dependencies: what ran, and the SBOM
        from dufflebag_harness.reports.sbom import attach_sbom

        report["dependencies"] = m.environment.report_section()
        attach_sbom(report)
    return report
