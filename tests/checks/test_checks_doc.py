"""docs/checks.md is the registry, rendered: every check, its requirements' text, how to fix."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from dufflebag_harness.conformance import REQUIRED, CheckFailed, check, load_checks
from dufflebag_harness.conformance._docs import DocsError, parse_requirements, render_markdown

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "checks.md"
REQUIREMENTS = ROOT / "docs" / "requirements.md"


def _requirements() -> dict[str, str]:
    return parse_requirements(REQUIREMENTS.read_text("utf-8"))


def _section(text: str, check_id: str) -> str:
    match = re.search(rf"^### {re.escape(check_id)}\n.*?(?=^### |^## |\Z)", text, re.M | re.S)
    assert match, f"no section for {check_id}"
    return match.group(0)


def test_checked_in_doc_matches_the_registry() -> None:
    expected = render_markdown(load_checks(), _requirements())
    assert DOC.read_text("utf-8") == expected, (
        "docs/checks.md is stale: run "
        "`python -m dufflebag_harness.conformance.catalog --markdown > docs/checks.md`")


def test_every_check_has_a_section_with_its_facts() -> None:
    text = DOC.read_text("utf-8")
    rows = {line.split("|")[1].strip(): line
            for line in REQUIREMENTS.read_text("utf-8").splitlines()
            if line.startswith("| REQ-") or line.startswith("| SC-")}
    for spec in load_checks():
        section = _section(text, spec.id)
        assert section.splitlines()[2] == f"**{spec.title}**"
        assert f"**Severity:** {spec.severity.value}" in section
        assert ", ".join(spec.backends) in section
        for req in spec.requires:
            row = rows.get(req) or rows.get(re.sub(r"\.\d+$", ".x", req))
            assert row is not None, (spec.id, req)
            req_text = row.split("|")[2].strip()
            assert f"{req} — {req_text}" in section, (spec.id, req)
        assert " ".join(spec.fix.split()) in section


def test_unknown_requirement_is_refused_with_the_check_named() -> None:
    registry = load_checks().snapshot()

    @check(id="ZZ-98", title="t", requires=("REQ-99.9",), severity=REQUIRED, fix="x",
           registry=registry)
    def extra(ctx: object) -> None:
        raise CheckFailed("never")

    with pytest.raises(DocsError, match=r"ZZ-98: requirement REQ-99\.9 is not in"):
        render_markdown(registry, _requirements())


def test_pipes_in_titles_do_not_break_tables() -> None:
    registry = load_checks().snapshot()

    @check(id="ZZ-97", title="a | b", requires=("REQ-1.1",), severity=REQUIRED,
           fix="use x | y", registry=registry)
    def extra(ctx: object) -> None:
        raise CheckFailed("never")

    text = render_markdown(registry, _requirements())
    assert "| ZZ-97 | a \\| b | required | sqlite |" in text
    assert "**How to fix:** use x \\| y" in text


def test_module_entry_prints_the_doc_and_reports_a_missing_requirements_file(
        tmp_path: Path) -> None:
    run = [sys.executable, "-m", "dufflebag_harness.conformance.catalog", "--markdown"]
    ok = subprocess.run(run, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == DOC.read_text("utf-8")
    missing = tmp_path / "nope.md"
    bad = subprocess.run([*run, "--requirements", str(missing)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert str(missing) in bad.stderr and bad.stdout == ""
