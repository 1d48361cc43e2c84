"""Every rogue fails exactly the required pairs its expect.toml names.

This is what makes a check a check: each required check has a rogue that
violates it, and certifying that rogue fails on exactly that check.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from _wheelhouse import rogue_wheelhouse

from dufflebag_harness.conformance import load_checks, parse_pairs
from dufflebag_harness.outside.environments import PrepareOptions
from dufflebag_harness.outside.runner import BadInput, CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]
ROGUES = sorted(p for p in (ROOT / "sample_extensions" / "rogues").iterdir()
                if (p / "expect.toml").is_file())


def _expected(rogue: Path) -> set[str]:
    data = tomllib.loads((rogue / "expect.toml").read_text())
    return parse_pairs(list(data["fails"]), load_checks().as_dict())


def _only_for(expected: set[str]) -> list[str]:
    """The areas the rogue targets plus the gate check: fast, and still shows the
    rogue passes its neighbours."""
    areas = {pair.split("-", 1)[0] for pair in expected}
    return sorted({s.id for s in load_checks() if s.area in areas} | {"LC-01"})


def test_every_required_check_has_a_rogue() -> None:
    covered: set[str] = set()
    for rogue in ROGUES:
        covered |= {p.split("@")[0] for p in _expected(rogue)}
    required = {s.id for s in load_checks() if s.severity.value == "required"}
    assert required - covered == set(), "required checks without a rogue"


@pytest.fixture(scope="session")
def python_env(tmp_path_factory: pytest.TempPathFactory) -> PrepareOptions:
    """Rogues that declare Python dependencies install them from a local wheelhouse only
    and are scanned against the OSV records the tests ship (offline)."""
    base = tmp_path_factory.mktemp("python-env")
    return PrepareOptions(find_links=(rogue_wheelhouse(base / "wheelhouse"),), no_index=True,
                          cache=base / "cache", vuln_db=ROOT / "tests" / "data" / "osv")


@pytest.mark.slow  # one certification per rogue: the sweep is most of the suite's time
@pytest.mark.parametrize("rogue", ROGUES, ids=lambda p: p.name)
def test_rogue_fails_exactly_its_checks(rogue: Path, tmp_path: Path,
                                        python_env: PrepareOptions) -> None:
    expected = _expected(rogue)
    expect = tomllib.loads((rogue / "expect.toml").read_text())
    refused = expect.get("bad_input")
    if "vuln_db" in expect:  # scanned against the OSV records the tests ship
        python_env = dataclasses.replace(python_env, vuln_db=ROOT / expect["vuln_db"],
                                         fail_on_severity=expect.get("fail_on_severity"))
    opts = CertifyOptions(path=rogue, out=tmp_path / "out", profile="quick",
                          only=_only_for(expected), seed=1, python_env=python_env)
    if refused:  # refused before any check runs: exit 2, the message says why
        with pytest.raises(BadInput) as err:
            certify(opts)
        assert all(fragment in str(err.value) for fragment in refused), str(err.value)
        assert not (tmp_path / "out").exists()
        return
    outcome = certify(opts)
    results = outcome.report["results"]
    reasons = {f"{r['check']}@{r['backend']}": r["reason"] for r in results}
    # An error proves nothing about a check: it must *fail*, on exactly these pairs.
    errored = {f"{r['check']}@{r['backend']}": r["reason"] for r in results
               if r["status"] == "error"}
    assert errored == {}, errored
    failed = {f"{r['check']}@{r['backend']}" for r in results
              if r["severity"] == "required" and r["status"] == "fail"}
    assert failed == expected, reasons
    assert outcome.level == "failed"
    assert outcome.exit_code == 1
    assert (outcome.out_dir / "report.json").is_file()
