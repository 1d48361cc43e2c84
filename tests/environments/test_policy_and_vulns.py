"""The licence policy's verdicts and the offline OSV match, on their own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dufflebag_harness.outside.environments import DependencyError
from dufflebag_harness.outside.environments.policy import judge, read_policy
from dufflebag_harness.outside.environments.vulns import at_or_above, scan

OSV = Path(__file__).resolve().parents[1] / "data" / "osv"


def _policy(tmp_path: Path, text: str) -> dict:
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return read_policy(path)


@pytest.mark.parametrize(("expression", "verdict"), [
    ("MIT", "allowed"),
    ("Apache-2.0 OR GPL-3.0-only", "allowed"),
    ("MIT AND GPL-3.0-only", "not allowed: GPL-3.0-only is denied"),
    ("GPL-3.0-only", "not allowed: GPL-3.0-only is denied"),
    ("Artistic-1.0 OR GPL-2.0-or-later",
     "not allowed: Artistic-1.0 is not on the allow list; GPL-2.0-or-later is not on the "
     "allow list"),
    ("(MIT OR GPL-3.0-only) AND Apache-2.0", "allowed"),
    ("Apache-2.0 WITH LLVM-exception", "allowed"),
    ("NOASSERTION", "not allowed: no licence stated"),
])
def test_expressions_are_judged_as_written(tmp_path: Path, expression: str,
                                           verdict: str) -> None:
    policy = _policy(tmp_path, 'allow = ["MIT", "Apache-2.0"]\ndeny = ["GPL-3.0-only"]\n')
    assert judge(expression, policy) == verdict


def test_a_deny_list_alone_admits_the_rest(tmp_path: Path) -> None:
    policy = _policy(tmp_path, 'deny = ["AGPL-3.0-only"]\n')
    assert judge("NOASSERTION", policy) == "allowed"
    assert judge("BSD-3-Clause", policy) == "allowed"
    assert judge("AGPL-3.0-only", policy).startswith("not allowed")


@pytest.mark.parametrize(("text", "says"), [
    ('allow = ["Not A Licence"]\n', "allow[0]"),
    ('allow = ["MIT"]\ndeny = ["MIT"]\n', "both allowed and denied"),
    ('permit = ["MIT"]\n', "unknown key 'permit'"),
    ("allow = [\n", "not TOML"),
])
def test_a_bad_policy_is_refused_naming_what(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(DependencyError) as err:
        _policy(tmp_path, text)
    assert "--licence-policy" in str(err.value) and says in str(err.value)


def test_the_offline_database_matches_ranges_versions_and_names() -> None:
    result = scan([("leftpadder", "1.0.0", "inherited"), ("text-unidecode", "1.3", "inherited"),
                   ("rogue-vulnerable-dep", "0.1.0", "own")], OSV)
    assert result["skipped"] == ""
    found = {(f["id"], f["package"], f["severity"], f["origin"]) for f in result["findings"]}
    assert found == {
        ("PYSEC-0000-9001", "leftpadder", "high", "inherited"),      # introduced 0, fixed 1.1.0
        ("GHSA-0000-0000-9002", "leftpadder", "medium", "inherited"),  # "LeftPadder", moderate
        ("PYSEC-0000-9004", "rogue-vulnerable-dep", "low", "own"),    # listed version, CVSS 3.1
    }  # text-unidecode 1.3 is the fixed release
    fixed = {f["id"]: f["fixed_in"] for f in result["findings"]}
    assert fixed["PYSEC-0000-9001"] == ["1.1.0"]


def test_a_fixed_release_is_not_matched() -> None:
    assert scan([("leftpadder", "2.0.0", "inherited")], OSV)["findings"] == []
    assert [f["id"] for f in scan([("leftpadder", "1.9", "inherited")], OSV)["findings"]] \
        == ["GHSA-0000-0000-9002"]  # last_affected 1.9 is included


def test_an_empty_database_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.json").write_text(json.dumps({"no": "id"}))
    with pytest.raises(DependencyError, match="no OSV record"):
        scan([("leftpadder", "1.0.0", "inherited")], tmp_path)


def test_severity_threshold_counts_unknown_as_meeting_it() -> None:
    assert at_or_above("high", "medium") and not at_or_above("low", "medium")
    assert at_or_above("unknown", "critical")


class _Done:
    def __init__(self, stdout: str) -> None:
        self.stdout, self.stderr, self.returncode = stdout, "", 0


def test_pip_audit_unreachable_is_a_skip_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    from dufflebag_harness.outside.environments import vulns

    answer = {"dependencies": [{"name": "tabulate", "skip_reason": "Dependency not found on "
                                "PyPI and could not be audited: tabulate (0.10.0)"}]}
    monkeypatch.setattr(vulns.subprocess, "run", lambda *a, **k: _Done(json.dumps(answer)))
    result = scan([("tabulate", "0.10.0", "inherited")], None)
    assert result["findings"] == [] and "could not be reached" in result["skipped"]
    assert "--vuln-db" in result["skipped"]


def test_pip_audit_findings_are_marked_by_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    from dufflebag_harness.outside.environments import vulns

    answer = {"dependencies": [
        {"name": "tabulate", "version": "0.10.0", "vulns": [
            {"id": "PYSEC-1", "fix_versions": ["0.10.1"], "aliases": [], "description": "x"}]},
        {"name": "my-ext", "version": "1.0", "vulns": [
            {"id": "PYSEC-2", "fix_versions": [], "aliases": [], "description": "y"}]}]}
    monkeypatch.setattr(vulns.subprocess, "run", lambda *a, **k: _Done(json.dumps(answer)))
    result = scan([("tabulate", "0.10.0", "inherited"), ("my-ext", "1.0", "own")], None)
    assert result["skipped"] == ""
    assert [(f["id"], f["origin"], f["severity"]) for f in result["findings"]] == [
        ("PYSEC-1", "inherited", "unknown"), ("PYSEC-2", "own", "unknown")]
