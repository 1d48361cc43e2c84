"""Sample reports for the report tests: a small catalog and a valid report factory."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from reports.model import CatalogCheck, Report, ResultDict, build_report, make_result

CATALOG: list[CatalogCheck] = [
    {"id": "IS-01", "title": "Cannot read other schemas", "severity": "required",
     "backends": ["sqlite", "postgresql"], "requires": ["REQ-1.5"]},
    {"id": "LC-01", "title": "Metadata equals manifest", "severity": "required",
     "backends": ["sqlite"], "requires": ["REQ-1.1"]},
    {"id": "PE-02", "title": "Declared permissions are used", "severity": "advisory",
     "backends": ["sqlite"], "requires": ["REQ-2.1"]},
    {"id": "RT-02", "title": "Route escapes are refused", "severity": "required",
     "backends": ["mock"], "requires": ["REQ-1.2"]},
]
REQUIRED_PAIRS = ["IS-01@postgresql", "IS-01@sqlite", "LC-01@sqlite", "RT-02@mock"]
FINGERPRINT = "A" * 40
FINISHED = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)

ReportFactory = Callable[..., Report]


def results_for(statuses: Mapping[str, str], reasons: Mapping[str, str] | None = None
                ) -> list[ResultDict]:
    """One result per catalog pair, ``pass`` unless ``statuses`` says otherwise."""
    out = []
    for entry in CATALOG:
        for backend in entry["backends"]:
            pair = f"{entry['id']}@{backend}"
            if statuses.get(pair) == "absent":
                continue
            status = statuses.get(pair, "pass")
            out.append(make_result(
                entry["id"], backend, status, entry["severity"],  # type: ignore[arg-type]
                title=entry["title"], reason=(reasons or {}).get(pair, ""),
                evidence={"status_code": 500} if status != "pass" else {},
                duration_s=0.25,
            ))
    return out


def make_report(
    statuses: Mapping[str, str] | None = None,
    *,
    profile: str = "full",
    only: list[str] | None = None,
    uid_separated: bool = True,
    fingerprint: str = FINGERPRINT,
    development_key: bool = False,
    finished: datetime = FINISHED,
    reasons: Mapping[str, str] | None = None,
    extension_name: str = "analytics",
    validity_days: int = 365,
) -> Report:
    started = finished - timedelta(seconds=42)
    return build_report(
        harness={"name": "dufflebag-harness", "version": "0.1.0",
                 "digest": "sha256:" + "1" * 64},
        host_api_version="1.0.0",
        catalog_checks=copy.deepcopy(CATALOG),
        extension={"name": extension_name, "version": "1.0.0",
                   "artifact": {"kind": "folder", "digest": "sha256:" + "2" * 64,
                                "files": {"extension.toml": "3" * 64}}},
        environment={"python": "3.11.7", "os": "Linux-6.1", "machine": "x86_64",
                     "backends": ["mock", "sqlite", "postgresql"],
                     "postgresql": {"version": "15.18", "provider": "local"},
                     "worker": {"uid_separated": uid_separated, "uid": 65534,
                                "python": "3.11.7", "peak_rss_mb": 80.5}},
        run={"profile": profile, "only": only, "seed": 1234,  # type: ignore[typeddict-item]
             "started": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
             "finished": finished.strftime("%Y-%m-%dT%H:%M:%SZ"), "duration_s": 42.0},
        results=results_for(statuses or {}, reasons),
        signer={"fingerprint": fingerprint, "development_key": development_key},
        figures={"overhead.p95_ms": 1.2, "coverage.percent": 91.0},
        validity_days=validity_days,
    )


@pytest.fixture
def report_factory() -> ReportFactory:
    return make_report


@pytest.fixture
def report() -> dict[str, Any]:
    return dict(make_report())
