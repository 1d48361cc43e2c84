"""The view of a report every renderer shares: what to show, in which order.

Renderers receive already-validated reports but still treat every string in
them as hostile: reasons and evidence quote what the extension said. Evidence
passes through :func:`dufflebag_harness.reports._evidence.evidence_text` (redacted, capped) here,
once, and each renderer escapes for its own format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.reports._evidence import EVIDENCE_LIMIT, evidence_text
from dufflebag_harness.reports.levels import Standing, standing, waived_pairs
from dufflebag_harness.reports.model import docs_link

__all__ = ["LEVEL_COLOURS", "ReportView", "ResultView", "clean_text", "view"]

LEVEL_COLOURS = {"certified": "#2e7d32", "provisional": "#b26a00", "failed": "#c62828"}
_PROBLEMS = ("fail", "error", "flaky")
# C0/C1 controls (but tab and newline), bidi overrides and isolates, zero-width
# characters and BOM: nothing a report needs, everything a forger could use.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def clean_text(text: Any, limit: int = 1000, *, one_line: bool = True) -> str:
    """Printable text: no control, bidi or zero-width characters, capped at ``limit``."""
    value = _INVISIBLE.sub("", str(text))
    if one_line:
        value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


@dataclass(frozen=True)
class ResultView:
    check: str
    backend: str
    area: str
    status: str
    severity: str
    title: str
    reason: str
    evidence: str
    duration_s: float
    self_reported: bool
    attempts: int
    waived: bool
    fix: str = ""
    docs: str = ""

    @property
    def pair(self) -> str:
        return f"{self.check}@{self.backend}"


#: Said wherever the self-reported verdicts are listed (HTML too).
INFLUENCED_NOTE = (
    "These verdicts rest on observations made inside the worker process, where the "
    "extension's code runs (probes, its own test run): the extension could have influenced "
    "them. Every other verdict was judged from outside its sandbox: HTTP behaviour, the "
    "database through the parent's own connection, /proc, the fd-level output.")


@dataclass(frozen=True)
class ReportView:
    report: Mapping[str, Any]
    level: str
    colour: str
    name: str
    version: str
    results: list[ResultView]
    problems: list[ResultView]
    skipped: list[ResultView]
    by_area: dict[str, list[ResultView]]
    figures: list[tuple[str, str]]
    standing: Standing

    @property
    def influenced(self) -> list[ResultView]:
        """Verdicts that rest on something observed inside the worker, where extension
        code runs: the extension could have influenced them."""
        return [r for r in self.results if r.self_reported]

    @property
    def summary(self) -> Mapping[str, int]:
        summary: Mapping[str, int] = self.report["summary"]
        return summary


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, str | int | bool) or value is None:
        return clean_text(json.dumps(value) if not isinstance(value, str) else value, 200)
    return clean_text(json.dumps(value, sort_keys=True, ensure_ascii=False), 500)


def view(report: Mapping[str, Any], evidence_limit: int = EVIDENCE_LIMIT) -> ReportView:
    """Build the shared view; problems list required results first."""
    waived = waived_pairs(report["results"], report["waivers"])
    results = [
        ResultView(
            check=clean_text(r["check"], 20),
            backend=clean_text(r["backend"], 20),
            area=clean_text(r["check"].split("-", 1)[0], 10),
            status=r["status"],
            severity=r["severity"],
            title=clean_text(r.get("title", ""), 200),
            reason=clean_text(r.get("reason", ""), 1000),
            evidence=clean_text(evidence_text(r.get("evidence") or {}, evidence_limit),
                                evidence_limit + 100, one_line=False)
            if r.get("evidence") else "",
            duration_s=float(r.get("duration_s", 0.0)),
            self_reported=bool(r.get("self_reported")),
            attempts=int(r.get("attempts", 1)),
            waived=f"{r['check']}@{r['backend']}" in waived,
            fix=clean_text(r.get("fix", ""), 4000),
            # made from the check ID, never read: a link the report cannot point elsewhere
            docs=docs_link(r["check"]),
        )
        for r in report["results"]
    ]
    problems = sorted((r for r in results if r.status in _PROBLEMS),
                      key=lambda r: (r.severity != "required", r.waived, r.check, r.backend))
    by_area: dict[str, list[ResultView]] = {}
    for r in results:
        by_area.setdefault(r.area, []).append(r)
    level = report["level"]
    honest = standing(report)
    return ReportView(
        report=report,
        level=level,
        colour=LEVEL_COLOURS.get(honest.tone, "#555555"),
        name=clean_text(report["extension"]["name"], 40),
        version=clean_text(report["extension"]["version"], 80),
        results=results,
        problems=problems,
        skipped=[r for r in results if r.status == "skipped"],
        by_area=dict(sorted(by_area.items())),
        figures=[(clean_text(k, 80), _figure(v)) for k, v in sorted(report["figures"].items())],
        standing=honest,
    )
