"""SARIF 2.1.0: problems as code-scanning results, one rule per catalog check.

Each failing, erroring or flaky pair becomes a result located at the
extension's ``extension.toml`` (checks judge behaviour, not a source line), or at
the extension's own file and line when the evidence names one (bandit's
``where``). Locations are relative to the repository root (``uriBaseId``
``%SRCROOT%``): ``base`` is the extension folder's path below that root, so a
code-scanning upload from the repository shows each result on the right file.
Every rule carries the check's fix (``help``) and its documentation (``helpUri``).
Waived advisory results carry an external suppression with the waiver's reason.
Message text is plain; ``[`` and ``]`` are escaped as SARIF requires so
extension text cannot turn into embedded links.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dufflebag_harness.reports.model import docs_link
from dufflebag_harness.reports.render._view import clean_text, view

__all__ = ["MANIFEST_URI", "SARIF_SCHEMA", "SRCROOT", "render_sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: The base every artifact location is relative to: the repository root.
SRCROOT = "%SRCROOT%"
#: Where a result without a file of its own is located: the extension's manifest.
MANIFEST_URI = "extension.toml"
# A file the evidence names, relative to the extension folder: plain path characters only,
# never absolute, never climbing out ("..").
_WHERE = re.compile(r"^(?P<path>[\w][\w.\-/]*\.\w+):(?P<line>[0-9]{1,7})$")
# A finding told as "path:line: what" (the static scans' findings).
_FINDING = re.compile(r"^(?P<path>[\w][\w.\-/]*\.\w+):(?P<line>[0-9]{1,7}): ")
_FILE = re.compile(r"^[\w][\w.\-/]*$")


def _text(value: Any, limit: int = 1000) -> str:
    return clean_text(value, limit).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _markdown(value: Any, limit: int = 4000) -> str:
    """Plain text safe in SARIF Markdown: no HTML, no links, no emphasis of its own."""
    line = clean_text(value, limit).replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"([\\\[\]*_#|!])", r"\\\1", line)


def _fixes(report: Mapping[str, Any]) -> dict[str, str]:
    """Check ID → its fix text, as the results carry it."""
    out: dict[str, str] = {}
    for r in report["results"]:
        if r.get("fix"):
            out.setdefault(r["check"], r["fix"])
    return out


def _rules(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    fixes = _fixes(report)
    rules = []
    for check in report["catalog"]["checks"]:
        docs = docs_link(check["id"])
        fix = fixes.get(check["id"], "")
        how = fix or f"See {docs}."
        rules.append({
            "id": check["id"],
            "name": check["id"].replace("-", ""),
            "shortDescription": {"text": _text(check["title"], 200)},
            "help": {
                "text": _text(f"{check['title']}. How to fix: {how} Docs: {docs}", 5000),
                "markdown": f"**{_markdown(check['title'], 200)}**\n\n"
                            f"**How to fix:** {_markdown(how)}\n\n[{docs}]({docs})",
            },
            "helpUri": docs,
            "defaultConfiguration": {
                "level": "error" if check["severity"] == "required" else "warning"
            },
            "properties": {"severity": check["severity"], "backends": check["backends"],
                           "requires": check["requires"]},
        })
    return rules


def _named_files(evidence: Any, depth: int = 0) -> Iterator[tuple[str, int | None]]:
    """Files of the extension the evidence names (``where: path:line``, ``file``, or a
    finding ``"path:line: what"``), skipping entries about a dependency (they carry
    ``distribution``)."""
    if depth > 3:
        return
    if isinstance(evidence, str):
        if m := _FINDING.match(evidence):
            yield m["path"], int(m["line"])
        return
    if isinstance(evidence, Mapping):
        where, file = evidence.get("where"), evidence.get("file")
        if "distribution" not in evidence:
            if isinstance(where, str) and (m := _WHERE.match(where)):
                yield m["path"], int(m["line"])
            elif isinstance(file, str) and _FILE.match(file):
                yield file, None
        own = "distribution" not in evidence
        for value in list(evidence.values())[:50]:
            if isinstance(value, Mapping | list) or (own and isinstance(value, str)):
                yield from _named_files(value, depth + 1)
    elif isinstance(evidence, list):
        for item in evidence[:50]:
            yield from _named_files(item, depth + 1)


def _location(evidence: Any, base: str, extension_dir: Path | None) -> dict[str, Any]:
    """The physical location of a result: the first file the evidence names that is
    really the extension's (inside ``extension_dir`` when known), else the manifest."""
    path, line = MANIFEST_URI, 1
    for name, at in _named_files(evidence):
        if ".." in name.split("/"):
            continue
        if extension_dir is not None:
            target = (extension_dir / name).resolve()
            if not target.is_file() or not target.is_relative_to(extension_dir.resolve()):
                continue
        path, line = name, at or 1
        break
    return {"physicalLocation": {
        "artifactLocation": {"uri": posixpath.join(base, path) if base else path,
                             "uriBaseId": SRCROOT},
        "region": {"startLine": max(line, 1)},
    }}


def render_sarif(report: Mapping[str, Any], *, base: str = "",
                 extension_dir: Path | None = None) -> str:
    """A SARIF 2.1.0 log (JSON text) with one run.

    ``base`` is the extension folder relative to the repository root, as a POSIX path
    (``""`` when it is the root); :func:`dufflebag_harness.reports.outputs.sarif_base`
    finds it. With ``extension_dir``, a file the evidence names is used only when it
    exists inside that folder.
    """
    v = view(report)
    rules = _rules(report)
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    reasons = {w["check"]: w["reason"] for w in report["waivers"] if w["applied"]}
    evidence = {f"{r['check']}@{r['backend']}": r.get("evidence") for r in report["results"]}
    results = []
    for r in v.problems:
        entry: dict[str, Any] = {
            "ruleId": r.check,
            "ruleIndex": index[r.check],
            "level": "error" if r.severity == "required" else "warning",
            "message": {"text": _text(f"{r.pair} {r.status}: {r.reason or r.title}")},
            "locations": [_location(evidence.get(r.pair), base, extension_dir)],
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
                           "catalog": report["catalog"]["version"],
                           "marketplace": v.standing.verdict},
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
