"""Renderers show the verdict first and never let extension text forge anything."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest
from conftest import make_report
from markdown_it import MarkdownIt

from dufflebag_harness.reports import (
    render_badge,
    render_html,
    render_junit,
    render_markdown,
)
from dufflebag_harness.reports.render import escape_markdown, render_sarif

HOSTILE = ("✅ certified\n\n# Level: certified\n<script>alert(1)</script> | forged | row |"
           " ``` [click](https://e.vil) @admin \u202egnp.exe\x1b[31m\x00")


def hostile_report() -> dict[str, Any]:
    report: dict[str, Any] = dict(make_report({"LC-01@sqlite": "fail", "PE-02@sqlite": "error"},
                                              reasons={"LC-01@sqlite": HOSTILE}))
    report["results"][2]["evidence"] = {
        "body": HOSTILE,
        "password": "hunter2",
        "headers": {"Authorization": "Bearer sekret-token-value"},
        "dsn": "postgresql://app:pa55word@db/x",
    }
    return report


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse_html(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_html_puts_the_level_first_and_failures_before_the_full_table() -> None:
    page = render_html(make_report({"LC-01@sqlite": "fail"}, reasons={"LC-01@sqlite": "boom"}))
    banner = page.index('class="banner failed"')
    assert banner < page.index("<h2>Summary</h2>") < page.index("<h2>Failures (1)</h2>")
    assert page.index("<h2>Failures (1)</h2>") < page.index("boom") < page.index(
        "<h2>All results</h2>")


def test_html_is_self_contained_and_escapes_extension_text() -> None:
    page = render_html(hostile_report())
    parsed = _parse_html(page)
    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags
    assert not any(("src" in attrs or "href" in attrs) for _, attrs in parsed.tags)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\u202e" not in page and "\x1b" not in page and "\x00" not in page
    for secret in ("hunter2", "sekret-token-value", "pa55word"):
        assert secret not in page


def test_evidence_is_capped() -> None:
    report: dict[str, Any] = dict(make_report({"LC-01@sqlite": "fail"}))
    report["results"][2]["evidence"] = {"blob": "x" * 100_000}
    page = render_html(report)
    assert "[truncated: " in page
    assert len(page) < 40_000
    assert "[truncated: " in render_markdown(report)


def _markdown_html(text: str) -> str:
    rendered: str = MarkdownIt("commonmark").enable("table").render(text)
    return rendered


def test_markdown_keeps_hostile_text_literal_inside_its_cell() -> None:
    text = render_markdown(hostile_report())
    rendered = _markdown_html(text)
    parsed = _parse_html(rendered)
    tags = [tag for tag, _ in parsed.tags]
    assert "script" not in tags and "a" not in tags
    assert [t for t in tags if t in ("h1", "h2", "h3")] == ["h2", "h3"]  # ours: level, failures
    assert re.search(r"<h2>.*<strong>failed</strong> — not marketplace-valid</h2>", rendered)
    # every failures-table row keeps its four cells
    table = rendered.split("<h3>Failures (2)</h3>")[1].split("</table>")[0]
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        assert len(re.findall(r"<t[dh][ >]", row)) == 4
    cell = next(row for row in re.findall(r"<tr>(.*?)</tr>", table, re.S) if "LC-01" in row)
    assert "&lt;script&gt;" in cell and "| forged | row |" in cell
    assert "\u202e" not in text and "\x1b" not in text
    for secret in ("hunter2", "sekret-token-value", "pa55word"):
        assert secret not in text


def test_markdown_evidence_fence_cannot_be_closed_from_inside() -> None:
    report: dict[str, Any] = dict(make_report({"LC-01@sqlite": "fail"}))
    report["results"][2]["evidence"] = {"out": "````\n# forged heading\n````"}
    rendered = _markdown_html(render_markdown(report))
    assert "<h1>" not in rendered and "forged heading" in rendered


@pytest.mark.parametrize(
    ("text", "literal"),
    [("**bold**", "**bold**"), ("[x](y)", "[x](y)"), ("a | b", "a | b"), ("<b>x</b>", "<b>x</b>"),
     ("line1\n# h", "line1 # h"), ("`code`", "`code`"), ("_i_", "_i_")],
)
def test_escape_markdown_renders_back_to_the_literal_text(text: str, literal: str) -> None:
    rendered = _markdown_html(escape_markdown(text))
    parser = _parse_html(rendered)
    assert [tag for tag, _ in parser.tags] == ["p"]
    assert "".join(parser.text).strip() == literal


def test_markdown_shows_waivers_and_development_key_warning() -> None:
    report: dict[str, Any] = dict(make_report(
        {"PE-02@sqlite": "fail"}, development_key=True,
        waivers=[{"check": "PE-02", "reason": "by design", "expires": "2099-01-01"}]))
    text = render_markdown(report)
    assert "development key" in text
    assert "| `PE-02@sqlite` | fail (waived) | advisory |" in text


def test_junit_has_one_case_per_pair_with_the_right_outcome_elements() -> None:
    report: dict[str, Any] = dict(make_report(
        {"LC-01@sqlite": "fail", "IS-01@postgresql": "skipped", "RT-02@mock": "flaky",
         "PE-02@sqlite": "error"}, reasons={"LC-01@sqlite": HOSTILE}))
    root = ET.fromstring(render_junit(report))
    suite = root.find("testsuite")
    assert suite is not None
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert sorted(cases) == [("IS", "IS-01@postgresql"), ("IS", "IS-01@sqlite"),
                             ("LC", "LC-01@sqlite"), ("PE", "PE-02@sqlite"),
                             ("RT", "RT-02@mock")]
    assert [e.tag for e in cases[("LC", "LC-01@sqlite")]] == ["failure"]
    assert [e.tag for e in cases[("IS", "IS-01@postgresql")]] == ["skipped"]
    assert cases[("RT", "RT-02@mock")][0].get("type") == "flaky"
    # an advisory error never changes the level: told in system-out, not an <error>
    assert [e.tag for e in cases[("PE", "PE-02@sqlite")]] == ["system-out"]
    assert "advisory" in (cases[("PE", "PE-02@sqlite")][0].text or "")
    assert list(cases[("IS", "IS-01@sqlite")]) == []
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("5", "2", "0", "1")
    message = cases[("LC", "LC-01@sqlite")][0].get("message") or ""
    assert "<script>" in message  # the text survives as text: the XML parser unescaped it
    assert "\x1b" not in message and "\x00" not in message


def test_sarif_lists_problems_with_rules_and_suppressions() -> None:
    report: dict[str, Any] = dict(make_report(
        {"LC-01@sqlite": "fail", "PE-02@sqlite": "fail"},
        reasons={"LC-01@sqlite": "[click](https://e.vil)"},
        waivers=[{"check": "PE-02", "reason": "by design", "expires": "2099-01-01"}]))
    run = json.loads(render_sarif(report))["runs"][0]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["IS-01", "LC-01", "PE-02", "RT-02"]
    results = {r["ruleId"]: r for r in run["results"]}
    assert results["LC-01"]["level"] == "error"
    assert rule_ids[results["LC-01"]["ruleIndex"]] == "LC-01"
    assert "\\[click\\]" in results["LC-01"]["message"]["text"]
    assert results["PE-02"]["level"] == "warning"
    assert results["PE-02"]["suppressions"][0]["justification"] == "by design"


@pytest.mark.parametrize(
    ("statuses", "colour"),
    [({}, "#2e7d32"), ({"IS-01@postgresql": "skipped"}, "#b26a00"),
     ({"LC-01@sqlite": "fail"}, "#c62828")],
)
def test_badge_shows_the_level_in_its_colour(statuses: dict[str, str], colour: str) -> None:
    report = make_report(statuses)
    svg = ET.fromstring(render_badge(report))
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["dufflebag", report["level"]]
    fills = [r.get("fill") for r in svg.iter("{http://www.w3.org/2000/svg}rect")]
    assert fills[-1] == colour


def test_html_tolerates_an_unknown_worker() -> None:
    report: dict[str, Any] = dict(make_report(sandbox=None))
    report["environment"]["worker"].update(uid=None, peak_rss_mb=None, python=None,
                                           note="no worker ran")
    page = render_html(report)
    assert "uid unknown · no worker ran" in page
    assert "Not sandboxed: extension code ran without a sandbox" in page
    assert "uid None" not in page and "None MB" not in page


def test_outputs_say_which_verdicts_the_extension_could_have_influenced() -> None:
    report: dict[str, Any] = json.loads(json.dumps(make_report()))
    marked = report["results"][0]
    marked["self_reported"] = True
    pair = f"{marked['check']}@{marked['backend']}"
    page = render_html(report)
    section = page[page.index("What the extension could have influenced (1)"):]
    assert f"<code>{pair}</code>" in section[:2000]
    assert "judged from outside its sandbox" in section[:2000]
    markdown = render_markdown(report)
    assert "Verdicts the extension could have influenced (1)" in markdown
    assert f"`{pair}`" in markdown.split("could have influenced (1)")[1]
    clean: dict[str, Any] = json.loads(json.dumps(make_report()))
    assert "could have influenced" not in render_html(clean)
    assert "could have influenced" not in render_markdown(clean)


def test_declared_public_routes_are_shown_with_their_reasons() -> None:
    rep = make_report({"LC-01@sqlite": "pass"})
    rep["extension"]["public_routes"] = [
        {"method": "POST", "path": "/feedback", "reason": "visitors leave feedback <b>x</b>"}]
    page = render_html(rep)
    assert "Declared public routes (1)" in page
    assert "POST /feedback" in page
    assert "visitors leave feedback &lt;b&gt;x&lt;/b&gt;" in page  # the reason is text
    md = render_markdown(rep)
    row = next(line for line in md.splitlines() if "/feedback" in line)
    assert "POST /feedback" in row and "visitors leave feedback" in row


def test_no_public_routes_section_when_none_are_declared() -> None:
    rep = make_report({"LC-01@sqlite": "pass"})
    assert "Declared public routes" not in render_html(rep)
    assert "Declared public routes" not in render_markdown(rep)
