"""Every written output tells the reader what failed, how to fix it and where the check is
documented, and shows the level as ``verify --require-level certified`` would see it.

The outputs are parsed (HTML, Markdown rendered to HTML, JSON, XML), never grepped for
our own template strings; JUnit is validated against the Jenkins JUnit XSD and SARIF
against the OASIS SARIF 2.1.0 schema (both kept in ``tests/data/schemas``).
"""

from __future__ import annotations

import html
import importlib.util
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import xmlschema
from conftest import FIXES, make_report
from jsonschema import Draft4Validator
from markdown_it import MarkdownIt

from dufflebag_harness.conformance import load_checks
from dufflebag_harness.reports import (
    render_badge,
    render_html,
    render_junit,
    render_markdown,
    render_sarif,
    validate,
    write_outputs,
)
from dufflebag_harness.reports.levels import level_refusal, standing
from dufflebag_harness.reports.outputs import OutputError

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "tests" / "data" / "schemas"
ROGUE = ROOT / "sample_extensions" / "rogues" / "metadata_mismatch"
LC01_REASON = "metadata says version 0.9.0, extension.toml 1.0.0"


@cache
def _junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


@cache
def _sarif_validator() -> Draft4Validator:
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text("utf-8"))
    return Draft4Validator(schema)


def _check_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_docs", ROOT / "docs" / "check_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _shown(fix: str) -> str:
    """A fix text as a reader sees it rendered: its `backquoted` names set as code."""
    return fix.replace("`", "")


def failing_report() -> dict[str, Any]:
    """A required failure (LC-01) and an advisory one (PE-02), each with evidence."""
    return dict(make_report({"LC-01@sqlite": "fail", "PE-02@sqlite": "fail"},
                            reasons={"LC-01@sqlite": LC01_REASON}))


def assert_valid_junit(data: bytes) -> ET.Element:
    _junit_schema().validate(data.decode("utf-8"))
    return ET.fromstring(data)


def assert_valid_sarif(text: str) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(text)
    errors = sorted(_sarif_validator().iter_errors(log), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    return log


class _Elements(HTMLParser):
    """The text inside every element with a given class (nesting of the same tag counted)."""

    def __init__(self, tag: str, cls: str) -> None:
        super().__init__()
        self.tag, self.cls = tag, cls
        self.blocks: list[str] = []
        self._depth = 0
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != self.tag:
            return
        if self._depth:
            self._depth += 1
        elif self.cls in (dict(attrs).get("class") or "").split():
            self._depth, self._text = 1, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self.tag and self._depth:
            self._depth -= 1
            if not self._depth:
                self.blocks.append(_one_line("".join(self._text)))

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._text.append(data)


def _blocks(page: str, tag: str, cls: str) -> list[str]:
    parser = _Elements(tag, cls)
    parser.feed(page)
    return parser.blocks


def _markdown_text(markdown: str) -> str:
    """The Markdown rendered to HTML as a viewer would, then reduced to its text."""
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    parser = HTMLParser()
    out: list[str] = []
    parser.handle_data = out.append  # type: ignore[method-assign]
    parser.feed(rendered)
    return html.unescape(_one_line("".join(out)))


# --- the docs link -----------------------------------------------------------------


def test_every_check_has_the_docs_anchor_its_results_link_to() -> None:
    anchors = _check_docs().anchors((ROOT / "docs" / "checks.md").read_text("utf-8"))
    report = dict(make_report())
    links = {r["docs"] for r in report["results"]}
    assert links == {"docs/checks.md#is-01", "docs/checks.md#lc-01", "docs/checks.md#pe-02",
                     "docs/checks.md#rt-02"}
    for spec in load_checks():
        # the link a result of this check carries, made the way the report makes it
        built = make_report(catalog=[{"id": spec.id, "title": spec.title,
                                      "severity": "required", "backends": ["sqlite"],
                                      "requires": list(spec.requires)}],
                            fixes={spec.id: spec.fix})
        link = built["results"][0]["docs"]
        page, _, anchor = link.partition("#")
        assert (ROOT / page).is_file(), link
        assert anchor == spec.id.lower() and anchor in anchors, f"{spec.id}: no #{anchor}"
        assert built["results"][0]["fix"] == _one_line(spec.fix)


def test_report_json_carries_fix_and_docs_with_every_result() -> None:
    report = failing_report()
    validate(report)
    for r in report["results"]:
        assert r["fix"] == FIXES[r["check"]]
        assert r["docs"] == f"docs/checks.md#{r['check'].lower()}"


def test_a_report_without_fix_and_docs_still_validates_but_a_wrong_link_does_not() -> None:
    from dufflebag_harness.reports import ReportInvalid

    report = failing_report()
    old = {**report, "results": [{k: v for k, v in r.items() if k not in ("fix", "docs")}
                                 for r in report["results"]]}
    validate(old)  # reports written before the fields existed
    assert "How to fix" in render_html(old)
    forged = json.loads(json.dumps(report))
    forged["results"][0]["docs"] = "docs/checks.md#lc-01"  # IS-01's result, LC-01's link
    with pytest.raises(ReportInvalid, match=r"results\[0\]\.docs"):
        validate(forged)


# --- each rendering of a failure ---------------------------------------------------


def test_html_shows_the_fix_and_docs_link_under_each_failure() -> None:
    page = render_html(failing_report())
    failures = _blocks(page, "div", "failure")
    lc01 = next(b for b in failures if "LC-01@sqlite" in b)
    assert LC01_REASON in lc01
    fix = next(b for b in _blocks(page, "div", "fix") if _shown(FIXES["LC-01"]) in b)
    assert "docs/checks.md#lc-01" in fix
    assert "<code>metadata()</code> return exactly" in page  # the quoted name set as code
    assert fix in lc01  # under that failure, not somewhere else on the page
    pe02 = next(b for b in failures if "PE-02@sqlite" in b)
    assert FIXES["PE-02"] in pe02 and "docs/checks.md#pe-02" in pe02


def test_markdown_shows_the_fix_and_docs_link_under_each_failure() -> None:
    text = _markdown_text(render_markdown(failing_report()))
    section = text.split("LC-01@sqlite fail")[-1].split("PE-02@sqlite fail")[0]
    assert LC01_REASON in section
    assert f"How to fix: {_shown(FIXES['LC-01'])}" in section
    assert "Docs: docs/checks.md#lc-01" in section


def test_sarif_rules_carry_help_and_help_uri_and_the_log_is_valid_sarif() -> None:
    log = assert_valid_sarif(render_sarif(failing_report()))
    run = log["runs"][0]
    rules = {rule["id"]: rule for rule in run["tool"]["driver"]["rules"]}
    lc01 = rules["LC-01"]
    assert lc01["helpUri"] == "docs/checks.md#lc-01"
    assert FIXES["LC-01"] in lc01["help"]["text"]
    assert "docs/checks.md#lc-01" in lc01["help"]["text"]
    assert _shown(FIXES["LC-01"]) in _markdown_text(lc01["help"]["markdown"])
    result = next(r for r in run["results"] if r["ruleId"] == "LC-01")
    assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["helpUri"] == lc01["helpUri"]
    location = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "extension.toml", "uriBaseId": "%SRCROOT%"}


def test_junit_failure_carries_the_fix_and_docs_link_and_validates() -> None:
    root = assert_valid_junit(render_junit(failing_report()))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["LC-01@sqlite"].find("failure")
    assert failure is not None and failure.text is not None
    assert LC01_REASON in (failure.get("message") or "")
    assert f"How to fix: {FIXES['LC-01']}" in failure.text
    assert "Docs: docs/checks.md#lc-01" in failure.text
    # the advisory failure is told, not counted as a failure
    advisory = cases["PE-02@sqlite"]
    assert advisory.find("failure") is None
    out = advisory.find("system-out")
    assert out is not None and FIXES["PE-02"] in (out.text or "")
    assert root.get("failures") == "1" and root.find("testsuite").get("failures") == "1"  # type: ignore[union-attr]


def test_a_certified_runs_junit_has_no_failure_even_with_an_advisory_finding() -> None:
    report = dict(make_report({"PE-02@sqlite": "fail"}))
    assert report["level"] == "certified"
    root = assert_valid_junit(render_junit(report))
    assert root.get("failures") == "0" and root.get("errors") == "0"
    assert "skipped" not in root.attrib  # the JUnit schema has no skipped on <testsuites>
    assert list(root.iter("failure")) == [] and list(root.iter("error")) == []


@pytest.mark.parametrize("statuses", [{}, {"LC-01@sqlite": "error", "RT-02@mock": "flaky",
                                           "IS-01@postgresql": "skipped"}])
def test_junit_and_sarif_validate_for_passing_and_failing_runs(statuses: dict[str, str]) -> None:
    report = dict(make_report(statuses, waivers=[
        {"check": "PE-02", "reason": "by design", "expires": "2099-01-01"}]))
    assert_valid_junit(render_junit(report))
    assert_valid_sarif(render_sarif(report))


# --- the level, shown honestly -----------------------------------------------------


def _banner(page: str) -> tuple[str, str]:
    level = _blocks(page, "div", "level")[0]
    return level, " ".join(_blocks(page, "header", "banner"))


def _md_title(markdown: str) -> str:
    return next(line for line in markdown.splitlines() if line.startswith("## "))


@pytest.mark.parametrize(("kwargs", "why"), [
    ({"development_key": True}, "development key"),
    ({"fingerprint": None}, "unsigned bundle"),
])
def test_an_all_pass_report_verify_would_refuse_never_reads_bare_certified(
        kwargs: dict[str, Any], why: str) -> None:
    report = dict(make_report(**kwargs))
    assert report["level"] == "certified" and report["summary"]["fail"] == 0
    level, banner = _banner(render_html(report))
    assert level.lower() != "certified"
    assert "passed all checks" in level.lower()
    assert "Not marketplace-valid" in banner and why in banner
    title = _markdown_text(_md_title(render_markdown(report)))
    assert "not marketplace-valid" in title and why in title
    assert title.split(":", 1)[1].split("—")[0].strip() != "certified"
    svg = ET.fromstring(render_badge(report))
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[-1] != "certified"
    root = ET.fromstring(render_junit(report))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert why in (props["marketplace"] or "")


def test_a_report_verify_would_accept_reads_certified() -> None:
    report = dict(make_report())
    level, banner = _banner(render_html(report))
    assert level == "certified"
    assert "Marketplace-valid" in banner and "Not marketplace-valid" not in banner
    assert "**certified**" in _md_title(render_markdown(report))


def test_banner_and_verify_apply_the_same_level_rule() -> None:
    """A certified level with no sandbox on record: verify's sentence is the banner's."""
    report = dict(make_report())
    report["environment"] = {**report["environment"],
                             "worker": {**report["environment"]["worker"], "sandbox": None}}
    refusal = level_refusal(report, "certified")
    assert refusal is not None and "without a sandbox" in refusal
    assert level_refusal(report, "provisional") is None
    honest = standing(report)
    assert honest.headline == "passed all checks" and refusal in honest.verdict
    _, banner = _banner(render_html(report))
    assert html.unescape(refusal) in banner


# --- where SARIF locations point -------------------------------------------------


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _extension(root: Path) -> Path:
    ext = root / "exts" / "analytics"
    (ext / "analytics").mkdir(parents=True)
    (ext / "extension.toml").write_text("[extension]\n", "utf-8")
    (ext / "analytics" / "views.py").write_text("x = 1\n" * 20, "utf-8")
    return ext


def _bandit_report() -> dict[str, Any]:
    report: dict[str, Any] = json.loads(json.dumps(make_report(
        {"LC-01@sqlite": "fail", "PE-02@sqlite": "fail", "RT-02@mock": "fail",
         "IS-01@sqlite": "fail"}, fingerprint=None)))
    by_pair = {f"{r['check']}@{r['backend']}": r for r in report["results"]}
    by_pair["LC-01@sqlite"]["evidence"] = {"medium": [
        {"where": "analytics/views.py:12", "test": "B608", "text": "SQL built from strings"}]}
    by_pair["PE-02@sqlite"]["evidence"] = {"high": [{"where": "../../etc/passwd.py:1"}]}
    by_pair["IS-01@sqlite"]["evidence"] = {"findings": [
        "analytics/gone.py:3: [dynamic-attr] a file that is not in the folder",
        "analytics/views.py:7: [dynamic-attr] getattr() with a computed name"]}
    by_pair["RT-02@mock"]["evidence"] = {"found": [
        {"distribution": "requests", "file": "requests/api.py"}]}
    return report


def _locations(out: Path) -> dict[str, dict[str, Any]]:
    log = assert_valid_sarif((out / "report.sarif").read_text("utf-8"))
    return {r["ruleId"]: r["locations"][0]["physicalLocation"] for r in log["runs"][0]["results"]}


def test_sarif_uris_are_relative_to_the_git_top_level_by_default(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git("init", "-q", cwd=repo)
    ext = _extension(repo)
    write_outputs(_bandit_report(), tmp_path / "out", None, extension_dir=ext)
    where = _locations(tmp_path / "out")
    assert where["LC-01"]["artifactLocation"] == {"uri": "exts/analytics/analytics/views.py",
                                                  "uriBaseId": "%SRCROOT%"}
    assert where["LC-01"]["region"] == {"startLine": 12}
    # a static-scan finding "path:line: what" names its file; one not in the folder is passed
    assert where["IS-01"]["artifactLocation"]["uri"] == "exts/analytics/analytics/views.py"
    assert where["IS-01"]["region"] == {"startLine": 7}
    # a path climbing out, and a file of a dependency, fall back to the manifest
    for rule in ("PE-02", "RT-02"):
        assert where[rule]["artifactLocation"]["uri"] == "exts/analytics/extension.toml"


def test_sarif_root_given_or_outside_git(tmp_path: Path) -> None:
    ext = _extension(tmp_path / "plain")
    write_outputs(_bandit_report(), tmp_path / "a", None, extension_dir=ext)
    assert _locations(tmp_path / "a")["RT-02"]["artifactLocation"]["uri"] == "extension.toml"
    write_outputs(_bandit_report(), tmp_path / "b", None, extension_dir=ext,
                  sarif_root=tmp_path / "plain" / "exts")
    assert (_locations(tmp_path / "b")["RT-02"]["artifactLocation"]["uri"]
            == "analytics/extension.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(OutputError, match="does not contain the extension folder"):
        write_outputs(_bandit_report(), tmp_path / "c", None, extension_dir=ext,
                      sarif_root=elsewhere)
    assert not (tmp_path / "c").exists()


# --- end to end: a real certification of a failing rogue --------------------------


def test_a_failing_rogues_outputs_show_fix_and_docs_and_validate(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "dufflebag_harness", "certify", str(ROGUE),
         "--only", "LC-01", "--unsigned", "--plain", "--out", str(out)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    report = json.loads((out / "report.json").read_text("utf-8"))
    lc01 = next(r for r in report["results"] if r["check"] == "LC-01")
    assert lc01["status"] == "fail"
    fix = _one_line(load_checks()["LC-01"].fix)
    assert lc01["fix"] == fix and lc01["docs"] == "docs/checks.md#lc-01"
    assert all(r.get("fix") and r.get("docs") for r in report["results"])

    failure = next(b for b in _blocks((out / "report.html").read_text("utf-8"), "div",
                                      "failure") if "LC-01@sqlite" in b)
    assert _shown(fix) in html.unescape(failure) and "docs/checks.md#lc-01" in failure
    md = _markdown_text((out / "report.md").read_text("utf-8"))
    assert f"How to fix: {_shown(fix)}" in md and "Docs: docs/checks.md#lc-01" in md
    root = assert_valid_junit((out / "junit.xml").read_bytes())
    body = next(c for c in root.iter("testcase") if c.get("name") == "LC-01@sqlite")
    text = body.find("failure").text or ""  # type: ignore[union-attr]
    assert fix in text and "docs/checks.md#lc-01" in text
    log = assert_valid_sarif((out / "report.sarif").read_text("utf-8"))
    rule = next(r for r in log["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "LC-01")
    assert fix in rule["help"]["text"] and rule["helpUri"] == "docs/checks.md#lc-01"


@pytest.mark.parametrize("hostile", [
    "Use `<script>alert(1)</script>` and [click](https://e.vil) <b>x</b> `a|b",  # unbalanced
    "Use `<script>alert(1)</script>` and [click](https://e.vil) <b>x</b> `a|b`",
])
def test_a_hostile_fix_text_stays_text_in_html_and_markdown(hostile: str) -> None:
    """A bundle's report can be edited before ``sign``: its fix text is not trusted."""
    report = dict(make_report({"LC-01@sqlite": "fail"}, fixes={**FIXES, "LC-01": hostile}))
    page = render_html(report)
    assert "<script>alert" not in page and "<b>x</b>" not in page
    rendered = MarkdownIt("commonmark").enable("table").render(render_markdown(report))
    assert "<script>" not in rendered and "<a " not in rendered and "<b>" not in rendered
    assert "[click](https:" in _markdown_text(render_markdown(report)).replace("\u200b", "")
