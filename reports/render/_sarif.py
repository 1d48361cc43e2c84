"""SARIF 2.1.0: problems as code-scanning results, one rule per catalog check.

Each failing, erroring or flaky pair becomes a result located at the
extension's ``extension.toml`` (checks judge behaviour, not a source line).
Waived advisory results carry an external suppression with the waiver's
reason. Message text is plain; ``[`` and ``]`` are escaped as SARIF requires so
extension text cannot turn into embedded links.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.reports.render._view import clean_text, view

__all__ = ["SARIF_SCHEMA", "render_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _text(value: Any, limit: int = 1000) -> str:
    return clean_text(value, limit).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _rules(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "id": check["id"],
            "name": check["id"].replace("-", ""),
            "shortDescription": {"text": _text(check["title"], 200)},
            "defaultConfiguration": {
                "level": "error" if check["severity"] == "required" else "warning"
            },
            "properties": {"severity": check["severity"], "backends": check["backends"],
                           "requires": check["requires"]},
        }
        for check in report["catalog"]["checks"]
    ]


def render_sarif(report: Mapping[str, Any]) -> str:
    """A SARIF 2.1.0 log (JSON text) with one run."""
    v = view(report)
    rules = _rules(report)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    reasons = {w["check"]: w["reason"] for w in report["waivers"] if w["applied"]}
    results = []
    for r in v.problems:
        entry: dict[str, Any] = {
            "ruleId": r.check,
            "ruleIndex": index[r.check],
            "level": "error" if r.severity == "required" else "warning",
            "message": {"text": _text(f"{r.pair} {r.status}: {r.reason or r.title}")},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": "extension.toml"},
                "region": {"startLine": 1},
            }}],
            "partialFingerprints": {"pair": r.pair},
            "properties": {"backend": r.backend, "status": r.status,
                           "self_reported": r.self_reported, "attempts": r.attempts},
        }
        if r.waived:
            reason = reasons.get(r.pair, reasons.get(r.check, ""))
            entry["suppressions"] = [{"kind": "external", "status": "accepted",
                                      "justification": _text(reason, 500)}]
        results.append(entry)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "dufflebag-cert",
                "version": clean_text(report["harness"]["version"], 64),
                "rules": rules,
            }},
            "automationDetails": {"id": f"dufflebag-cert/{v.name}/{report['report_id']}"},
            "results": results,
            "properties": {"level": v.level, "extension": v.name, "version": v.version,
                           "catalog": report["catalog"]["version"]},
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
