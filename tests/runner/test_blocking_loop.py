"""A certification of an extension that blocks the event loop is bounded by design.

Once FI-06 shows a handler blocks the loop, every request to that handler stops the
whole host for as long as it blocks. The checks whose verdict is a figure under load or
a timeout, and those that send many requests to every route, are then skipped as
blocked by FI-06 at once instead of waiting out the block on each request.
"""

from __future__ import annotations

from pathlib import Path

from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]
SYNC_SLEEP = ROOT / "sample_extensions" / "rogues" / "sync_sleep"

#: Skipped once FI-06 fails: load, concurrency and timing figures, and the request-heavy
#: checks (every configuration, every hostile path, every route as every user).
WAITING_ON_THE_BLOCK = ("CC-01", "PF-03", "PE-03", "PE-04", "PE-05", "CF-03", "IS-11",
                        "SE-06")


def test_checks_that_would_wait_out_a_blocked_loop_are_skipped_as_blocked_by_fi06(
        tmp_path: Path) -> None:
    outcome = certify(CertifyOptions(path=SYNC_SLEEP, out=tmp_path / "out", profile="full",
                                     only=["LC-01", "FI-06", *WAITING_ON_THE_BLOCK], seed=3))
    results = {r["check"]: r for r in outcome.report["results"]}  # each on sqlite alone
    assert results["FI-06"]["status"] == "fail", results["FI-06"]
    assert "GET /ext/sync_sleep/rates" in results["FI-06"]["reason"]
    skipped = {c: (results[c]["status"], results[c]["reason"]) for c in WAITING_ON_THE_BLOCK}
    assert skipped == {c: ("skipped", "blocked by FI-06") for c in WAITING_ON_THE_BLOCK}
    assert results["LC-01"]["status"] == "pass"
    assert outcome.level == "failed" and outcome.exit_code == 1
