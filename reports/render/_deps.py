"""The report's Python dependencies as the renderers show them: one row per package
(version, SPDX licence, declared or pulled in, the licence policy's verdict, known
vulnerabilities) and every finding traced into a dependency (inherited) or the
extension's own distribution (own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dufflebag_harness.reports.render._view import clean_text

__all__ = ["DependencyView", "dependency_view"]


@dataclass(frozen=True)
class PackageRow:
    name: str
    version: str
    licence: str
    kind: str
    licence_verdict: str
    vulnerabilities: str


@dataclass(frozen=True)
class TracedFinding:
    check: str
    distribution: str
    origin: str
    detail: str


@dataclass(frozen=True)
class DependencyView:
    rows: list[PackageRow]
    findings: list[TracedFinding]
    environment: str
    sbom: str
    policy: str
    vulnerability_source: str


def _findings(report: Mapping[str, Any]) -> list[TracedFinding]:
    out = []
    for result in report["results"]:
        evidence = result.get("evidence")
        if not isinstance(evidence, dict):
            continue
        items: list[Any] = []
        for key in ("findings", "traced"):
            value = evidence.get(key)
            if isinstance(value, list):
                items += value
        for item in items:
            if isinstance(item, dict) and item.get("origin") in ("inherited", "own"):
                detail = item.get("detail") or item.get("summary") or item.get("id") or ""
                where = item.get("file") or item.get("id") or ""
                out.append(TracedFinding(
                    check=str(result["check"]),
                    distribution=clean_text(f"{item.get('distribution', item.get('package', ''))}"
                                            f" {item.get('version', '')}".strip(), 120),
                    origin=str(item["origin"]),
                    detail=clean_text(f"{where}: {detail}" if where and where != detail
                                      else str(detail), 300)))
    return out


def dependency_view(report: Mapping[str, Any]) -> DependencyView | None:
    """None when the extension declares no Python dependencies."""
    deps = report.get("dependencies")
    if not deps:
        return None
    policy = deps.get("licence_policy") or {}
    verdicts = policy.get("verdicts", {})
    vulns = deps.get("vulnerabilities") or {}
    by_package: dict[str, list[str]] = {}
    for f in vulns.get("findings", []):
        by_package.setdefault(f["package"], []).append(
            f"{f['id']} ({f.get('severity', 'unknown')}, {f['origin']})")
    rows = [PackageRow(
        name=clean_text(p["name"], 100), version=clean_text(p["version"], 64),
        licence=clean_text(p["licence"], 200),
        kind="declared" if p["direct"] else "dependency of a dependency",
        licence_verdict=clean_text(verdicts.get(p["name"], ""), 200),
        vulnerabilities=clean_text(", ".join(by_package.get(p["name"], [])) or "none known",
                                   400),
    ) for p in deps["packages"]]
    env = deps["environment"]
    made = "reused from the cache" if env.get("reused") else "built"
    environment = clean_text(
        f"{len(rows)} packages from {deps['environment'].get('source', '')}, {made} with "
        f"{env.get('tool', '')} ({env.get('origin', '')}"
        f"{', locked' if env.get('locked') else ''})", 400)
    if policy:
        policy_text = clean_text(f"licence policy {policy.get('file', '')} "
                                 f"({policy.get('digest', '')[:19]}…)", 300)
    else:
        policy_text = "no licence policy given"
    if vulns.get("skipped"):
        source = clean_text(f"not scanned: {vulns['skipped']}", 300)
    else:
        source = clean_text(f"scanned against {vulns.get('source', 'nothing')}", 300)
    return DependencyView(rows=rows, findings=_findings(report), environment=environment,
                          sbom=f"{deps['sbom']['file']} ({deps['sbom']['digest']})",
                          policy=policy_text, vulnerability_source=source)
