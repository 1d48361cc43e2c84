"""Assemble the report (interface 4) from what a run produced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dufflebag_harness import HOST_API_VERSION, __version__
from dufflebag_harness.conformance import Catalog, CheckResult
from dufflebag_harness.outside.loader import ArtifactDigest, Manifest
from dufflebag_harness.outside.runner.environment import environment_facts, harness_digest
from dufflebag_harness.outside.worker_client import WorkerInfo

VALIDITY_DAYS = 365


def iso(t: dt.datetime) -> str:
    return t.replace(microsecond=0).isoformat().replace("+00:00", "Z")


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


def _worker_section(record: RunRecord) -> dict[str, Any]:
    infos = record.workers
    return {
        "uid_separated": bool(infos) and all(i.uid_separated for i in infos),
        "uid": infos[0].uid if infos else None,
        "python": infos[0].python if infos else None,
        "peak_rss_mb": max((i.peak_rss_mb for i in infos), default=0.0),
        "note": infos[0].separation_note if infos else "no worker ran",
        "restarts": list(record.worker_notes),
    }


def assemble_report(
    record: RunRecord, *, fingerprint: str, development_key: bool
) -> dict[str, Any]:
    """The report dict, level computed over every required pair of the catalog."""
    from dufflebag_harness.reports import (
        apply_waivers,
        clean_result,
        compute_level,
        fill_unplanned,
        summary,
    )

    entries = record.catalog.entries
    raw = [clean_result(r.to_json())
           for r in sorted(record.results, key=lambda r: (r.check, r.backend))]
    waivers = apply_waivers(raw, [w.to_json() for w in record.manifest.waivers],
                            record.finished.date(), catalog_checks=entries)
    results = fill_unplanned(raw, entries, "not selected (--only)")  # type: ignore[arg-type]
    only = list(record.only) if record.only else None
    level = compute_level(results, entries, record.profile, only)
    m, d = record.manifest, record.digest
    return {
        "schema_version": "0",
        "report_id": record.run_id,
        "harness": {"name": "dufflebag-harness", "version": __version__,
                    "digest": harness_digest()},
        "host_api_version": HOST_API_VERSION,
        "catalog": {"version": record.catalog.version, "checks": [dict(e) for e in entries]},
        "extension": {"name": m.name, "version": m.version,
                      "artifact": {"kind": d.kind, "digest": d.digest, "files": dict(d.files)}},
        "environment": {
            **environment_facts(),
            "backends": sorted(record.backends_used),
            "postgresql": record.postgresql,
            "worker": _worker_section(record),
        },
        "run": {"profile": record.profile, "only": only, "seed": record.seed,
                "started": iso(record.started), "finished": iso(record.finished),
                "duration_s": round(record.duration_s, 3)},
        "results": results,
        "figures": record.figures,
        "waivers": waivers,
        "level": level,
        "summary": summary(results),
        "validity": {"not_before": iso(record.finished),
                     "not_after": iso(record.finished + dt.timedelta(days=VALIDITY_DAYS))},
        "signer": {"fingerprint": fingerprint, "development_key": development_key},
    }
