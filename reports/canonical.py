"""Canonical bytes of a report and its validation against the published schema.

The signature covers exact bytes, so there is exactly one serialization:
sorted keys, UTF-8 (not ASCII-escaped), no insignificant whitespace, no NaN or
infinity. :func:`validate` checks the JSON Schema *and* the rules a schema
cannot express (catalog version, gaps, level, summary), so that nothing is
written, signed or accepted that ``verify`` would later reject.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from dufflebag_harness.reports.levels import (
    compute_level,
    required_gaps,
    sandbox_shortfall,
    summary,
)
from dufflebag_harness.reports.model import docs_link

__all__ = [
    "SCHEMA_VERSION",
    "ReportInvalid",
    "canonical_bytes",
    "catalog_version",
    "load_schema",
    "validate",
]

SCHEMA_VERSION = "0"
_SCHEMA_FILE = f"report-{SCHEMA_VERSION}.schema.json"


class ReportInvalid(ValueError):
    """The report breaks the schema or a report rule; ``path`` is the JSON path."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@cache
def load_schema() -> dict[str, Any]:
    """The published JSON Schema of report version 0."""
    schema_dir = resources.files(__package__).joinpath("schema")
    text = schema_dir.joinpath(_SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema())


def _check_plain_json(value: Any, path: str) -> None:
    """Refuse what ``json`` would silently accept or fail on without saying where."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReportInvalid(path, f"object key {key!r} is not a string")
            _check_plain_json(item, f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_plain_json(item, f"{path}[{index}]")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ReportInvalid(path, f"{value!r} is not allowed in JSON")
    elif not (value is None or isinstance(value, str | int)):
        raise ReportInvalid(path, f"{type(value).__name__} is not a JSON value")


def canonical_bytes(report: Mapping[str, Any]) -> bytes:
    """The one serialization that is signed and verified."""
    _check_plain_json(report, "$")
    text = json.dumps(report, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)
    return text.encode("utf-8")


def catalog_version(checks: Iterable[Mapping[str, Any]]) -> str:
    """``sha256:`` of the canonical catalog listing; equals
    ``dufflebag_harness.conformance.catalog_version``."""
    canon = json.dumps(sorted(checks, key=lambda e: e["id"]), sort_keys=True,
                       separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canon.encode()).hexdigest()


def _timestamp(report: Mapping[str, Any], section: str, key: str) -> datetime:
    raw = report[section][key]
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ReportInvalid(f"$.{section}.{key}", f"{raw!r} is not a real date and time") from None


def _check_rules(report: Mapping[str, Any]) -> None:
    checks = report["catalog"]["checks"]
    ids = [c["id"] for c in checks]
    for index, check_id in enumerate(ids):
        if ids.index(check_id) != index:
            raise ReportInvalid(f"$.catalog.checks[{index}].id", f"{check_id} is listed twice")
    expected = catalog_version(checks)
    if report["catalog"]["version"] != expected:
        raise ReportInvalid("$.catalog.version",
                            f"does not match its listing (the listing hashes to {expected})")
    catalog = {c["id"]: c for c in checks}
    results = report["results"]
    seen: set[tuple[str, str]] = set()
    previous: tuple[str, str] | None = None
    for index, r in enumerate(results):
        where = f"$.results[{index}]"
        key = (r["check"], r["backend"])
        entry = catalog.get(r["check"])
        if entry is None or r["backend"] not in entry["backends"]:
            raise ReportInvalid(where, f"{key[0]}@{key[1]} is not a pair of the catalog")
        if r["severity"] != entry["severity"]:
            raise ReportInvalid(f"{where}.severity",
                                f"{r['severity']!r} but the catalog says {entry['severity']!r}")
        if "docs" in r and r["docs"] != docs_link(r["check"]):
            raise ReportInvalid(f"{where}.docs",
                                f"{r['docs']!r} is not the docs link of {r['check']}")
        if key in seen:
            raise ReportInvalid(where, f"{key[0]}@{key[1]} has more than one result")
        if previous is not None and key < previous:
            raise ReportInvalid(where, "results must be sorted by check, then backend")
        seen.add(key)
        previous = key
    gaps = required_gaps(results, checks)
    if gaps:
        raise ReportInvalid("$.results", f"required pairs without a result (gap): "
                            f"{', '.join(gaps)}")
    for index, waiver in enumerate(report["waivers"]):
        entry = catalog.get(waiver["check"].partition("@")[0])
        if waiver["applied"] and (entry is None or entry["severity"] != "advisory"):
            raise ReportInvalid(f"$.waivers[{index}].applied",
                                "only a waiver on an advisory check of the catalog can apply")
    run = report["run"]
    level = compute_level(results, checks, run["profile"], run["only"],
                          sandboxed=sandbox_shortfall(report["environment"]["worker"]) is None)
    if report["level"] != level:
        raise ReportInvalid("$.level", f"{report['level']!r} but the results give {level!r}")
    counts = summary(results)
    for name, value in counts.items():
        if report["summary"][name] != value:
            raise ReportInvalid(f"$.summary.{name}",
                                f"{report['summary'][name]} but the results give {value}")
    if _timestamp(report, "run", "finished") < _timestamp(report, "run", "started"):
        raise ReportInvalid("$.run.finished", "is before $.run.started")
    if _timestamp(report, "validity", "not_after") <= _timestamp(report, "validity", "not_before"):
        raise ReportInvalid("$.validity.not_after", "is not after $.validity.not_before")


def validate(report: Any) -> None:
    """Raise :class:`ReportInvalid` (with the JSON path) unless ``report`` is a valid report."""
    if not isinstance(report, Mapping):
        raise ReportInvalid("$", f"a report is a JSON object, not {type(report).__name__}")
    _check_plain_json(report, "$")
    error = best_match(_validator().iter_errors(report))
    if error is not None:
        message = error.message if len(error.message) <= 300 else error.message[:300] + "…"
        raise ReportInvalid(error.json_path, message)
    _check_rules(report)
