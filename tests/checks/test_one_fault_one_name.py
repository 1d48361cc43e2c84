"""One fault, one name: a route that fails alone is FZ-01's finding only.

``stub_export`` registers a placeholder route that answers 501 for everyone,
always. Before, that one fault also failed CC-01 and CC-02 ("server error"),
PF-03, PF-04 (a memory check: "answers 501 even without load") and CF-03 (which
counted one crash per route read back, "102 of 51 configurations crashed").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dufflebag_harness.conformance import CheckSkipped
from dufflebag_harness.conformance._baseline import require_working_alone
from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]
STRESSED = ("CC-01", "CC-02", "PF-02", "PF-03", "PF-04", "CF-03")


def test_routes_that_work_alone_are_judged() -> None:
    require_working_alone({"GET /ext/x/a": 200, "GET /ext/x/b": 404, "GET /ext/x/c": 403})


def test_a_route_failing_alone_skips_naming_the_route_and_fz01() -> None:
    with pytest.raises(CheckSkipped) as err:
        require_working_alone({"GET /ext/x/a": 200, "GET /ext/x/export": 501})
    assert str(err.value).startswith("blocked by FZ-01: GET /ext/x/export answers 501")
    assert "GET /ext/x/a" not in str(err.value)


@pytest.mark.slow
def test_a_501_placeholder_fails_fuzzing_only(tmp_path: Path) -> None:
    only = ["LC-01", "LC-03", "FZ-01", "AU-05", *STRESSED]
    outcome = certify(CertifyOptions(path=ROOT / "sample_extensions" / "rogues" / "stub_export",
                                     out=tmp_path / "out", profile="full", only=only, seed=3))
    by_check = {r["check"]: r for r in outcome.report["results"] if r["check"] in only}
    assert by_check["FZ-01"]["status"] == "fail"
    assert "/ext/stub_export/export" in by_check["FZ-01"]["reason"]
    for check_id in STRESSED:
        result = by_check[check_id]
        assert result["status"] == "skipped", (check_id, result["reason"])
        assert result["reason"].startswith(
            "blocked by FZ-01: GET /ext/stub_export/export answers 501"), result["reason"]
    assert by_check["AU-05"]["status"] == "pass"  # read-only routes: no audit is owed
    assert outcome.level == "failed"
