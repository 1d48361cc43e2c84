"""Level rules, summary, unplanned pairs and waivers, as ARCHITECTURE.md states them."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import CATALOG, REQUIRED_PAIRS, ReportFactory, results_for

from dufflebag_harness.reports import (
    ReportInvalid,
    WaiverInvalid,
    apply_waivers,
    compute_level,
    fill_unplanned,
    required_gaps,
    required_pairs,
    summary,
    validate,
    waived_pairs,
)


def level(statuses: dict[str, str], profile: str = "full", only: list[str] | None = None,
          sandboxed: bool = True) -> str:
    return compute_level(results_for(statuses), CATALOG, profile, only, sandboxed=sandboxed)


def test_no_sandbox_never_certifies() -> None:
    assert level({}) == "certified"
    assert level({}, sandboxed=False) == "provisional"
    assert level({"LC-01@sqlite": "fail"}, sandboxed=False) == "failed"


def test_required_pairs_come_from_the_catalog() -> None:
    assert required_pairs(CATALOG) == REQUIRED_PAIRS


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({}, "certified"),
        ({"LC-01@sqlite": "fail"}, "failed"),
        ({"IS-01@postgresql": "error"}, "failed"),
        ({"IS-01@postgresql": "skipped"}, "provisional"),
        ({"RT-02@mock": "flaky"}, "provisional"),
        ({"IS-01@postgresql": "absent"}, "provisional"),
        ({"PE-02@sqlite": "fail"}, "certified"),
        ({"PE-02@sqlite": "error"}, "certified"),
        ({"RT-02@mock": "flaky", "LC-01@sqlite": "fail"}, "failed"),
        ({"IS-01@postgresql": "skipped", "IS-01@sqlite": "error"}, "failed"),
    ],
)
def test_level_rules(statuses: dict[str, str], expected: str) -> None:
    assert level(statuses) == expected


def test_quick_profile_or_only_never_certifies() -> None:
    assert level({}, profile="quick") == "provisional"
    assert level({}, only=["LC-01"]) == "provisional"
    assert level({"LC-01@sqlite": "fail"}, profile="quick") == "failed"


def test_a_result_cannot_make_a_required_check_advisory() -> None:
    results = results_for({"LC-01@sqlite": "fail"})
    for r in results:
        r["severity"] = "advisory"
    assert compute_level(results, CATALOG, "full", None, sandboxed=True) == "failed"


def test_a_catalog_without_required_checks_certifies_nothing() -> None:
    advisory_only = [c for c in CATALOG if c["severity"] == "advisory"]
    assert compute_level(results_for({}), advisory_only, "full", None,
                         sandboxed=True) == "provisional"


def test_required_gaps_lists_missing_required_pairs_only() -> None:
    results = results_for({"IS-01@postgresql": "absent", "PE-02@sqlite": "absent"})
    assert required_gaps(results, CATALOG) == ["IS-01@postgresql"]


def test_summary_counts_statuses_and_required() -> None:
    results = results_for({"LC-01@sqlite": "fail", "RT-02@mock": "flaky",
                           "IS-01@postgresql": "skipped", "PE-02@sqlite": "error"})
    assert summary(results) == {"pass": 1, "fail": 1, "error": 1, "skipped": 1, "flaky": 1,
                                "required_total": 4, "required_passed": 1}


def test_fill_unplanned_records_every_missing_pair_as_skipped() -> None:
    partial = [r for r in results_for({}) if r["check"] == "LC-01"]
    filled = fill_unplanned(partial, CATALOG, "not selected by --only")
    assert [f"{r['check']}@{r['backend']}" for r in filled] == [
        "IS-01@postgresql", "IS-01@sqlite", "LC-01@sqlite", "PE-02@sqlite", "RT-02@mock"]
    skipped = [r for r in filled if r["check"] != "LC-01"]
    assert {r["status"] for r in skipped} == {"skipped"}
    assert {r["reason"] for r in skipped} == {"not selected by --only"}
    assert compute_level(filled, CATALOG, "full", None, sandboxed=True) == "provisional"
    assert required_gaps(filled, CATALOG) == []


TODAY = date(2026, 11, 20)


def test_waiver_on_an_advisory_check_applies_and_covers_its_results() -> None:
    results = results_for({"PE-02@sqlite": "fail"})
    records = apply_waivers(
        results, [{"check": "PE-02", "reason": "read-only by design", "expires": "2027-06-30"}],
        TODAY)
    assert records == [{"check": "PE-02", "reason": "read-only by design",
                        "expires": "2027-06-30", "applied": True}]
    assert waived_pairs(results, records) == {"PE-02@sqlite"}


def test_waiver_expiring_today_still_applies_and_yesterday_does_not() -> None:
    results = results_for({"PE-02@sqlite": "fail"})
    today = apply_waivers(results, [{"check": "PE-02", "reason": "r",
                                     "expires": date(2026, 11, 20)}], TODAY)
    past = apply_waivers(results, [{"check": "PE-02", "reason": "r",
                                    "expires": date(2026, 11, 19)}], TODAY)
    assert today[0]["applied"] is True
    assert past[0]["applied"] is False
    assert past[0]["note"] == "expired on 2026-11-19"
    assert waived_pairs(results, past) == set()


def test_waiver_on_a_required_check_is_refused() -> None:
    results = results_for({"LC-01@sqlite": "fail"})
    records = apply_waivers(
        results, [{"check": "LC-01@sqlite", "reason": "please", "expires": "2099-01-01"}],
        TODAY, catalog_checks=CATALOG)
    assert records[0]["applied"] is False
    assert "required" in records[0]["note"]
    assert waived_pairs(results, records) == set()


def test_a_relabelled_result_cannot_smuggle_a_waiver_onto_a_required_check() -> None:
    results = results_for({"LC-01@sqlite": "fail"})
    for r in results:
        r["severity"] = "advisory"
    records = apply_waivers(
        results, [{"check": "LC-01", "reason": "please", "expires": "2099-01-01"}],
        TODAY, catalog_checks=CATALOG)
    assert records[0]["applied"] is False


def test_waiver_for_one_backend_covers_only_that_pair() -> None:
    catalog = [{**CATALOG[0], "severity": "advisory"}]
    results = [r for r in results_for({"IS-01@sqlite": "fail", "IS-01@postgresql": "fail"})
               if r["check"] == "IS-01"]
    for r in results:
        r["severity"] = "advisory"
    records = apply_waivers(
        results, [{"check": "IS-01@sqlite", "reason": "r", "expires": "2099-01-01"}],
        TODAY, catalog_checks=catalog)
    assert waived_pairs(results, records) == {"IS-01@sqlite"}


def test_waiver_without_reason_or_on_unknown_check_is_not_applied() -> None:
    results = results_for({"PE-02@sqlite": "fail"})
    records = apply_waivers(results, [
        {"check": "PE-02", "reason": "  ", "expires": "2099-01-01"},
        {"check": "ZZ-99", "reason": "x", "expires": "2099-01-01"},
    ], TODAY, catalog_checks=CATALOG)
    assert [r["applied"] for r in records] == [False, False]
    assert records[0]["note"] == "a waiver needs a reason"
    assert "ZZ-99" in records[1]["note"]


def test_waivers_never_change_the_level(report_factory: ReportFactory) -> None:
    report = report_factory({"PE-02@sqlite": "fail"},
                            waivers=[{"check": "PE-02", "reason": "r", "expires": "2099-01-01"}])
    validate(report)
    assert report["waivers"] == [{"check": "PE-02", "reason": "r", "expires": "2099-01-01",
                                  "applied": True}]
    assert report["level"] == "certified"


def test_the_report_decides_waivers_as_of_the_day_the_run_finished(
    report_factory: ReportFactory,
) -> None:
    declared = [{"check": "PE-02", "reason": "r", "expires": "2026-11-20"},
                {"check": "PE-02@sqlite", "reason": "r", "expires": "2026-11-19"},
                {"check": "LC-01", "reason": "please", "expires": "2099-01-01"}]
    report = report_factory({"PE-02@sqlite": "fail"}, waivers=declared)  # finished 2026-11-20
    validate(report)
    assert [w["applied"] for w in report["waivers"]] == [True, False, False]
    assert report["waivers"][1]["note"] == "expired on 2026-11-19"
    assert "required" in report["waivers"][2]["note"]


def test_the_report_records_unplanned_pairs_as_skipped_when_asked(
    report_factory: ReportFactory,
) -> None:
    planned = {"IS-01@postgresql": "absent", "RT-02@mock": "absent"}
    with pytest.raises(ReportInvalid, match="gap"):
        validate(report_factory(planned))
    report = report_factory(planned, unplanned="not selected (--only)")
    validate(report)
    skipped = [r for r in report["results"] if r["status"] == "skipped"]
    assert [(r["check"], r["backend"], r["reason"]) for r in skipped] == [
        ("IS-01", "postgresql", "not selected (--only)"),
        ("RT-02", "mock", "not selected (--only)")]
    assert report["summary"]["skipped"] == 2
    assert report["level"] == "provisional"


@pytest.mark.parametrize(
    ("waiver", "where"),
    [
        ({"check": "PE-02", "reason": "r", "expires": "someday"}, "waivers[0].expires"),
        ({"check": "PE-02", "reason": "r"}, "waivers[0].expires"),
        ({"check": "pe-2", "reason": "r", "expires": "2027-01-01"}, "waivers[0].check"),
        ({"check": "PE-02", "reason": 5, "expires": "2027-01-01"}, "waivers[0].reason"),
    ],
)
def test_malformed_waiver_raises_naming_the_field(waiver: dict[str, object], where: str) -> None:
    with pytest.raises(WaiverInvalid) as info:
        apply_waivers(results_for({}), [waiver], TODAY)
    assert str(info.value).startswith(where + ": ")
