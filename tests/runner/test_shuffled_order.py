"""Checks are independent: the catalog run in a shuffled order gives the same verdicts.

Each check gets fresh hosts, so no state (breakers, rate limiters, caches,
configuration) may carry from one check to the next; and a blocker still
decides what it blocks whatever the order. Run in order and shuffled with the
same seed, every (check, backend) pair must end the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dufflebag_harness.conformance import load_checks
from dufflebag_harness.outside.runner import CertifyOptions, certify
from dufflebag_harness.outside.runner.events import CheckStarted, Event, EventBus

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_extensions"

#: What to certify and which areas: a good extension across the behavioural areas, a rogue
#: whose failed LC-03 blocks most of them (while LC-07, blocked only by LC-01, fails on its
#: own), and one whose failed CF-02 blocks the rest of CF.
#: Judged on wall-clock latency: a busy CI machine could flip one run and not the other, and
#: order cannot matter to them (each measures one fresh host on its own).
TIMED = frozenset({"FI-05", "FI-06"})
CASES = [
    pytest.param(SAMPLES / "analytics", ("LC", "RT", "AU", "FI", "HK", "CF"), id="analytics",
                 marks=pytest.mark.slow),
    pytest.param(SAMPLES / "rogues" / "dep_conflict", ("LC", "RT", "AU"), id="dep_conflict"),
    pytest.param(SAMPLES / "rogues" / "bad_default", ("LC", "CF"), id="bad_default"),
]


def _run(path: Path, only: list[str], out: Path, *, shuffle: bool) -> tuple[list[str], Any]:
    started: list[str] = []

    def record(event: Event) -> None:
        if isinstance(event, CheckStarted):
            started.append(f"{event.check}@{event.backend}")

    outcome = certify(CertifyOptions(path=path, out=out, profile="quick", only=only, seed=7,
                                     shuffle=shuffle), EventBus([record]))
    return started, outcome


def _verdicts(outcome: Any) -> dict[str, tuple[str, str]]:
    """Pair → (status, reason when skipped): a blocked pair must be blocked by the same check."""
    return {f"{r['check']}@{r['backend']}": (r["status"],
                                               r["reason"] if r["status"] == "skipped" else "")
            for r in outcome.report["results"]}


@pytest.mark.parametrize(("path", "areas"), CASES)
def test_shuffled_run_gives_the_same_verdicts(path: Path, areas: tuple[str, ...],
                                               tmp_path: Path) -> None:
    only = sorted(s.id for s in load_checks() if s.area in areas and s.id not in TIMED)
    in_order, first = _run(path, only, tmp_path / "in-order", shuffle=False)
    shuffled, second = _run(path, only, tmp_path / "shuffled", shuffle=True)
    assert sorted(in_order) == sorted(shuffled)
    assert in_order != shuffled, "the shuffled run kept the catalog order"
    assert _verdicts(second) == _verdicts(first)
    assert second.level == first.level
