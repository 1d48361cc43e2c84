"""The report model: typed shapes of report version 0 and helpers to build one.

The report is a plain ``dict`` (it is serialized canonically and signed); these
``TypedDict`` shapes let mypy check the code that builds it, and the helpers keep
the rules that make a report verifiable in one place: results are sorted and
backend-qualified, evidence is redacted and size-capped before it is signed, and
level and summary are computed, never supplied.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypedDict

from dufflebag_harness.reports._evidence import EVIDENCE_LIMIT, clean_evidence

__all__ = [
    "CHECK_DOCS",
    "EVIDENCE_LIMIT",
    "FIX_LIMIT",
    "VALIDITY_DAYS",
    "ArtifactInfo",
    "CatalogCheck",
    "CatalogInfo",
    "EnvironmentInfo",
    "ExtensionInfo",
    "HarnessInfo",
    "Level",
    "PostgresInfo",
    "PublicRouteRecord",
    "Report",
    "ResultDict",
    "RunInfo",
    "SignerInfo",
    "Summary",
    "Validity",
    "WaiverRecord",
    "WorkerInfo",
    "build_report",
    "clean_evidence",
    "clean_result",
    "docs_link",
    "make_result",
    "new_report_id",
    "sort_results",
    "utc_timestamp",
]

Level = Literal["certified", "provisional", "failed"]
Status = Literal["pass", "fail", "error", "skipped", "flaky"]
Severity = Literal["required", "advisory"]

#: Default validity of a report, counted from the end of the run.
VALIDITY_DAYS = 365

#: Where every check is documented, as a path relative to the root of the harness's
#: source tree: a result's ``docs`` link is this plus ``#`` and the check ID in lower
#: case (``docs/checks.md#au-01``), an anchor the generated page defines for each check.
CHECK_DOCS = "docs/checks.md"
#: The longest ``fix`` text a result carries (the schema's limit).
FIX_LIMIT = 4000


def _fix_text(text: str) -> str:
    """A fix text as results carry it: one line (check docstrings wrap), capped."""
    return " ".join(text.split())[:FIX_LIMIT]


def docs_link(check_id: str) -> str:
    """The documentation link of a check: ``docs/checks.md#<id in lower case>``."""
    return f"{CHECK_DOCS}#{check_id.lower()}"


class CatalogCheck(TypedDict):
    """One entry of the catalog listing, as in ``conformance/catalog.toml``."""

    id: str
    title: str
    severity: Severity
    backends: list[str]
    requires: list[str]


class CatalogInfo(TypedDict):
    version: str
    checks: list[CatalogCheck]


class HarnessInfo(TypedDict):
    name: str
    version: str
    digest: str


class ArtifactInfo(TypedDict):
    kind: Literal["folder", "wheel", "sdist"]
    digest: str
    files: dict[str, str]


class PublicRouteRecord(TypedDict):
    """A ``[[public_routes]]`` declaration: a state-changing route open to anonymous callers."""

    method: str
    path: str
    reason: str


class _ExtensionBase(TypedDict):
    name: str
    version: str
    artifact: ArtifactInfo


class ExtensionInfo(_ExtensionBase, total=False):
    """``public_routes`` is present when the manifest declares any (for the marketplace)."""

    public_routes: list[PublicRouteRecord]


class PostgresInfo(TypedDict):
    version: str
    provider: Literal["dsn", "testcontainers", "local"]


class _WorkerBase(TypedDict):
    sandbox: dict[str, Any] | None
    uid: int | None
    python: str | None
    peak_rss_mb: float | None


class WorkerInfo(_WorkerBase, total=False):
    """How the worker ran; ``note`` and ``restarts`` are optional explanations."""

    note: str
    restarts: list[str]


class _EnvironmentBase(TypedDict):
    python: str
    os: str
    machine: str
    backends: list[str]
    postgresql: PostgresInfo | None
    worker: WorkerInfo


class EnvironmentInfo(_EnvironmentBase, total=False):
    implementation: str


class RunInfo(TypedDict):
    profile: Literal["full", "quick"]
    only: list[str] | None
    seed: int
    started: str
    finished: str
    duration_s: float


class _ResultBase(TypedDict):

    check: str
    backend: str
    status: Status
    severity: Severity
    title: str
    reason: str
    evidence: dict[str, Any]
    duration_s: float
    self_reported: bool
    attempts: int


class ResultDict(_ResultBase, total=False):
    """One (check, backend) pair, as ``CheckResult.to_json()`` gives it, with how to fix a
    failure (``fix``, the check's own text) and where the check is documented (``docs``,
    :func:`docs_link`). Both are always written; reports made before they existed lack
    them and still verify."""

    fix: str
    docs: str


class _WaiverBase(TypedDict):
    check: str
    reason: str
    expires: str
    applied: bool


class WaiverRecord(_WaiverBase, total=False):
    """A waiver as recorded: ``note`` says why it was not applied."""

    note: str


Summary = TypedDict(
    "Summary",
    {
        "pass": int,
        "fail": int,
        "error": int,
        "skipped": int,
        "flaky": int,
        "required_total": int,
        "required_passed": int,
    },
)


class Validity(TypedDict):
    not_before: str
    not_after: str


class SignerInfo(TypedDict):
    fingerprint: str
    development_key: bool


class Report(TypedDict):
    """Report version 0 (ARCHITECTURE.md, Interface 4)."""

    schema_version: Literal["0"]
    report_id: str
    harness: HarnessInfo
    host_api_version: str
    catalog: CatalogInfo
    extension: ExtensionInfo
    environment: EnvironmentInfo
    run: RunInfo
    results: list[ResultDict]
    figures: dict[str, Any]
    waivers: list[WaiverRecord]
    level: Level
    summary: Summary
    validity: Validity
    signer: SignerInfo | None


def new_report_id() -> str:
    return str(uuid.uuid4())


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a ``Z``, whole seconds: the only form the schema admits."""
    moment = moment or datetime.now(UTC)
    if moment.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware (naive datetimes are ambiguous)")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_result(
    check: str,
    backend: str,
    status: Status,
    severity: Severity,
    *,
    title: str = "",
    reason: str = "",
    evidence: Mapping[str, Any] | None = None,
    duration_s: float = 0.0,
    self_reported: bool = False,
    attempts: int = 1,
    fix: str = "",
) -> ResultDict:
    """A result ready to be signed: evidence redacted and capped, duration rounded, the
    fix text on one line, the docs link made from the check ID."""
    return {
        "check": check,
        "backend": backend,
        "status": status,
        "severity": severity,
        "title": title,
        "reason": reason[:4000],
        "evidence": clean_evidence(evidence or {}),
        "duration_s": round(max(duration_s, 0.0), 4),
        "self_reported": self_reported,
        "attempts": attempts,
        "fix": _fix_text(fix),
        "docs": docs_link(check),
    }


def clean_result(result: Mapping[str, Any]) -> ResultDict:
    """A copy of a result (e.g. ``CheckResult.to_json()``) made safe to sign.

    Evidence is redacted and capped and the reason cut to the schema's limit:
    both may quote what the extension said.
    """
    return make_result(
        result["check"], result["backend"], result["status"], result["severity"],
        title=str(result.get("title", ""))[:200], reason=str(result.get("reason", "")),
        evidence=result.get("evidence") or {}, duration_s=float(result.get("duration_s", 0.0)),
        self_reported=bool(result.get("self_reported", False)),
        attempts=int(result.get("attempts", 1)), fix=str(result.get("fix", "")),
    )


def sort_results(results: Iterable[ResultDict]) -> list[ResultDict]:
    """Results in report order: by check ID, then backend."""
    return sorted(results, key=lambda r: (r["check"], r["backend"]))


def build_report(
    *,
    harness: HarnessInfo,
    host_api_version: str,
    catalog_checks: Sequence[CatalogCheck],
    extension: ExtensionInfo,
    environment: EnvironmentInfo,
    run: RunInfo,
    results: Iterable[ResultDict],
    signer: SignerInfo | None,
    figures: Mapping[str, Any] | None = None,
    waivers: Sequence[Mapping[str, Any]] = (),
    unplanned: str | None = None,
    report_id: str | None = None,
    validity_days: int = VALIDITY_DAYS,
    fixes: Mapping[str, str] | None = None,
) -> Report:
    """Assemble a report; the catalog version, waivers, level and summary are decided here.

    ``results`` come from :func:`make_result` or :func:`clean_result` (evidence
    already redacted and capped, once). ``waivers`` are the extension's declared
    waivers (``check``, ``reason``, ``expires``, as in ``extension.toml``); which
    of them apply is decided by :func:`dufflebag_harness.reports.apply_waivers`
    as of the day the run finished. With ``unplanned`` (a reason), every catalog
    pair without a result is recorded as skipped for that reason
    (:func:`dufflebag_harness.reports.fill_unplanned`), as a run with ``--only``
    or the quick profile must; without it such a pair is a gap that ``verify``
    refuses. The validity period starts when the run finished. ``signer`` is
    ``None`` for an unsigned bundle (``certify --unsigned``), which ``sign`` fills.
    ``fixes`` (check ID → the check's fix text) gives every result, unplanned ones
    too, the fix a reader of a failure needs.
    """
    from dufflebag_harness.reports.canonical import catalog_version
    from dufflebag_harness.reports.levels import (
        apply_waivers,
        compute_level,
        fill_unplanned,
        sandbox_shortfall,
        summary,
    )

    ordered = sort_results(results)
    if unplanned is not None:
        ordered = fill_unplanned(ordered, catalog_checks, unplanned)
    if fixes:
        ordered = [{**r, "fix": _fix_text(fixes.get(r["check"], r.get("fix", "")))}
                   for r in ordered]
    checks: list[CatalogCheck] = sorted(
        ({**c, "backends": list(c["backends"]), "requires": list(c["requires"])}
         for c in catalog_checks),
        key=lambda c: c["id"],
    )
    finished = datetime.fromisoformat(run["finished"].replace("Z", "+00:00"))
    level = compute_level(ordered, catalog_checks, run["profile"], run["only"],
                          sandboxed=sandbox_shortfall(environment["worker"]) is None)
    return {
        "schema_version": "0",
        "report_id": report_id or new_report_id(),
        "harness": harness,
        "host_api_version": host_api_version,
        "catalog": {"version": catalog_version(checks), "checks": checks},
        "extension": extension,
        "environment": environment,
        "run": run,
        "results": ordered,
        "figures": dict(figures or {}),
        "waivers": apply_waivers(ordered, waivers, finished.date(),
                                 catalog_checks=catalog_checks),
        "level": level,
        "summary": summary(ordered),
        "validity": {
            "not_before": utc_timestamp(finished),
            "not_after": utc_timestamp(finished + timedelta(days=validity_days)),
        },
        "signer": signer,
    }
