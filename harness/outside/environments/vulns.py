"""Known vulnerabilities in the resolved set: an offline OSV export, or pip-audit online.

``--vuln-db DIR`` is a folder of OSV records (``*.json``, as osv.dev's exports ship them):
each PyPI ``affected`` entry is matched to the installed versions here, with
``packaging``'s version ordering over the record's ``versions`` and ``ECOSYSTEM`` ranges.
Without it, pip-audit asks the public database for the pinned set; when it cannot (no
network), the scan is skipped and says why. Every finding is ``inherited`` (in a
dependency) or ``own`` (in the extension's own distribution).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from dufflebag_harness.outside.environments.build import DependencyError

__all__ = ["SEVERITIES", "at_or_above", "scan"]

#: Severities, lowest first (``--fail-on-severity``); a finding whose record states none
#: is ``unknown`` and counts as meeting any threshold (fail closed).
SEVERITIES = ("low", "medium", "high", "critical")
_ALIASES = {"moderate": "medium", "important": "high"}
_MAX_RECORD_BYTES = 4 << 20


def at_or_above(severity: str, threshold: str) -> bool:
    if severity not in SEVERITIES:
        return True
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


def _severity(record: dict[str, Any], affected: dict[str, Any]) -> str:
    for holder in (affected.get("ecosystem_specific"), affected.get("database_specific"),
                   record.get("database_specific")):
        if isinstance(holder, dict) and isinstance(holder.get("severity"), str):
            value = str(holder["severity"]).lower()
            value = _ALIASES.get(value, value)
            if value in SEVERITIES:
                return value
    for entry in record.get("severity") or []:
        score = entry.get("score") if isinstance(entry, dict) else None
        try:
            number = float(str(score))  # a plain base score; vectors are not computed here
        except (TypeError, ValueError):
            continue
        return ("low" if number < 4 else "medium" if number < 7
                else "high" if number < 9 else "critical")
    return "unknown"


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_ranges(version: Version, ranges: Iterable[dict[str, Any]]) -> bool:
    for r in ranges:
        if r.get("type") not in ("ECOSYSTEM", "SEMVER"):
            continue
        start: Version | None = None
        open_ = False
        for event in r.get("events", []):
            if "introduced" in event:
                start = _version("0" if event["introduced"] == "0" else event["introduced"])
                open_ = start is not None
            elif "fixed" in event and open_ and start is not None:
                end = _version(event["fixed"])
                if end is not None and start <= version < end:
                    return True
                open_ = False
            elif "last_affected" in event and open_ and start is not None:
                end = _version(event["last_affected"])
                if end is not None and start <= version <= end:
                    return True
                open_ = False
        if open_ and start is not None and version >= start:
            return True
    return False


def _records(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.rglob("*.json")):
        try:
            if path.stat().st_size > _MAX_RECORD_BYTES:
                continue
            record = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            yield record


def _finding(record: dict[str, Any], affected: dict[str, Any], name: str, version: str,
             origin: str) -> dict[str, Any]:
    fixed = sorted({e["fixed"] for r in affected.get("ranges", []) for e in r.get("events", [])
                    if "fixed" in e})
    return {"id": record["id"], "aliases": list(record.get("aliases", []))[:10],
            "package": name, "version": version, "severity": _severity(record, affected),
            "fixed_in": fixed[:10], "summary": str(record.get("summary", ""))[:300],
            "origin": origin}


def _match(folder: Path, packages: Sequence[tuple[str, str, str]]) -> tuple[list[Any], int]:
    wanted = {canonicalize_name(n): (n, v, o) for n, v, o in packages}
    found: list[dict[str, Any]] = []
    count = 0
    for record in _records(folder):
        count += 1
        for affected in record.get("affected", []):
            pkg = affected.get("package", {})
            if pkg.get("ecosystem") != "PyPI" or not pkg.get("name"):
                continue
            hit = wanted.get(canonicalize_name(pkg["name"]))
            if hit is None:
                continue
            name, version, origin = hit
            parsed = _version(version)
            listed = version in affected.get("versions", [])
            if listed or (parsed is not None and _in_ranges(parsed, affected.get("ranges", []))):
                found.append(_finding(record, affected, name, version, origin))
    return found, count


def _pip_audit(packages: Sequence[tuple[str, str, str]]) -> dict[str, Any]:
    origins = {canonicalize_name(n): o for n, _, o in packages}
    with tempfile.TemporaryDirectory(prefix="dbaudit-") as tmp:
        pins = Path(tmp) / "pins.txt"
        pins.write_text("".join(f"{n}=={v}\n" for n, v, _ in packages))
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip_audit", "-r", str(pins), "--no-deps",
                 "--disable-pip", "--format", "json", "--progress-spinner", "off"],
                capture_output=True, text=True, timeout=180, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"source": "pip-audit", "skipped": f"pip-audit did not run: {exc}",
                    "findings": []}
    try:
        data = json.loads(done.stdout)
    except ValueError:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return {"source": "pip-audit", "skipped": f"pip-audit failed: {tail[0][:300]}",
                "findings": []}
    deps = data.get("dependencies", [])
    unaudited = [d for d in deps if d.get("skip_reason")]
    if deps and len(unaudited) == len(deps):
        return {"source": "pip-audit (the public database)",
                "skipped": "the public database could not be reached (offline?): "
                           f"{unaudited[0]['skip_reason'][:200]}; give --vuln-db DIR",
                "findings": []}
    findings = [{"id": v["id"], "aliases": v.get("aliases", [])[:10], "package": d["name"],
                 "version": d.get("version", ""), "severity": "unknown",
                 "fixed_in": v.get("fix_versions", [])[:10],
                 "summary": str(v.get("description", ""))[:300],
                 "origin": origins.get(canonicalize_name(d["name"]), "inherited")}
                for d in deps for v in d.get("vulns", [])]
    skipped = [f"{d['name']}: {d['skip_reason'][:120]}" for d in unaudited]
    return {"source": "pip-audit (the public database)", "skipped": "",
            "not_audited": skipped[:20], "findings": findings}


def scan(packages: Sequence[tuple[str, str, str]], vuln_db: Path | None) -> dict[str, Any]:
    """``packages``: ``(name, version, origin)``. The scan's record for the report."""
    if vuln_db is not None:
        if not vuln_db.is_dir():
            raise DependencyError(f"--vuln-db {vuln_db}: not a folder of OSV records")
        found, count = _match(vuln_db, packages)
        if count == 0:
            raise DependencyError(f"--vuln-db {vuln_db}: no OSV record (*.json with an id) "
                                  "in it")
        return {"source": f"OSV export {vuln_db.name} ({count} records)", "skipped": "",
                "findings": found}
    return _pip_audit(packages)
