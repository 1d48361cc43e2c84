"""Canonical bytes and validation: one serialization, and bad reports named by path."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from conftest import CATALOG, make_report
from jsonschema import Draft202012Validator

from dufflebag_harness.reports import (
    ReportInvalid,
    canonical_bytes,
    catalog_version,
    load_schema,
    validate,
)


def test_canonical_bytes_sort_keys_keep_utf8_and_drop_whitespace() -> None:
    assert canonical_bytes({"b": [1, 2.5], "a": "é ✓"}) == '{"a":"é ✓","b":[1,2.5]}'.encode()


def test_canonical_bytes_do_not_depend_on_insertion_order() -> None:
    report = make_report()
    shuffled = json.loads(json.dumps(report), object_pairs_hook=lambda p: dict(reversed(p)))
    assert list(shuffled) != list(report)
    assert canonical_bytes(shuffled) == canonical_bytes(report)
    assert json.loads(canonical_bytes(report)) == report


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), datetime(2026, 1, 1), b"x", {1, 2}])
def test_canonical_bytes_refuse_non_json_values_naming_where(bad: Any) -> None:
    report = make_report()
    report["figures"]["overhead"] = {"p95_ms": bad}
    with pytest.raises(ReportInvalid) as info:
        canonical_bytes(report)
    assert info.value.path == "$.figures.overhead.p95_ms"


def test_catalog_version_equals_the_conformance_definition() -> None:
    from dufflebag_harness.conformance import catalog_version as conformance_version

    listing: list[dict[str, Any]] = [dict(c) for c in CATALOG]
    assert catalog_version(CATALOG) == conformance_version(listing)
    assert catalog_version(list(reversed(CATALOG))) == catalog_version(CATALOG)


def test_published_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(load_schema())


def test_sample_report_is_valid() -> None:
    validate(make_report())


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(report: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = report
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
    return mutate


def _swap_first_results(report: dict[str, Any]) -> None:
    report["results"][0], report["results"][1] = report["results"][1], report["results"][0]


def _duplicate_result(report: dict[str, Any]) -> None:
    report["results"].insert(1, copy.deepcopy(report["results"][0]))
    report["summary"]["pass"] += 1
    report["summary"]["required_total"] += 1
    report["summary"]["required_passed"] += 1


def _drop_required_result(report: dict[str, Any]) -> None:
    del report["results"][0]  # IS-01@postgresql
    report["summary"]["pass"] -= 1
    report["summary"]["required_total"] -= 1
    report["summary"]["required_passed"] -= 1


def _retitle_catalog(report: dict[str, Any]) -> None:
    report["catalog"]["checks"][0]["severity"] = "advisory"


def _waive_required(report: dict[str, Any]) -> None:
    report["waivers"].append({"check": "IS-01", "reason": "trust me", "expires": "2099-01-01",
                              "applied": True})


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (_set("results.1.status", "passed"), "$.results[1].status"),
        (_set("extension.name", "Bad-Name"), "$.extension.name"),
        (_set("signer.fingerprint", "a" * 40), "$.signer.fingerprint"),
        (_set("extension.artifact.digest", "md5:abc"), "$.extension.artifact.digest"),
        (_set("run.profile", "fast"), "$.run.profile"),
        (_set("surprise", True), "$"),
        (_set("results.2.severity", "advisory"), "$.results[2].severity"),
        (_set("catalog.version", "sha256:" + "0" * 64), "$.catalog.version"),
        (_retitle_catalog, "$.catalog.version"),
        (_set("level", "certified"), "$.level"),
        (_swap_first_results, "$.results[1]"),
        (_duplicate_result, "$.results[1]"),
        (_drop_required_result, "$.results"),
        (_set("summary.pass", 99), "$.summary.pass"),
        (_waive_required, "$.waivers[0].applied"),
        (_set("results.0.waived", True), "$.results[0]"),
        (_set("run.started", "2026-13-01T00:00:00Z"), "$.run.started"),
        (_set("validity.not_after", "2026-01-01T00:00:00Z"), "$.validity.not_after"),
    ],
)
def test_validate_names_the_json_path_of_the_problem(mutate: Mutation, path: str) -> None:
    report: dict[str, Any] = dict(make_report({"LC-01@sqlite": "fail"}))
    validate(report)
    mutate(report)
    with pytest.raises(ReportInvalid) as info:
        validate(report)
    assert info.value.path == path
    assert str(info.value).startswith(info.value.path + ": ")


def test_validate_refuses_a_level_the_results_do_not_give() -> None:
    report = make_report({"IS-01@postgresql": "skipped"})
    report["level"] = "certified"
    with pytest.raises(ReportInvalid, match=r"\$\.level: 'certified' but the results give "
                                            r"'provisional'"):
        validate(report)


def test_validate_refuses_non_objects() -> None:
    with pytest.raises(ReportInvalid, match=r"^\$: a report is a JSON object"):
        validate([1, 2])


def test_build_report_dates_validity_from_the_end_of_the_run() -> None:
    report = make_report(finished=datetime(2026, 3, 1, 8, 30, tzinfo=UTC), validity_days=30)
    assert report["validity"] == {"not_before": "2026-03-01T08:30:00Z",
                                  "not_after": "2026-03-31T08:30:00Z"}
