"""The Markdown summary, sized for a pull-request comment.

Every string that could come from the extension is reduced to one line,
HTML-escaped and backslash-escaped, so a reason such as ``"\\n# ✅ certified"``
or ``"<script>"`` or ``"| forged | row |"`` stays literal text inside its table
cell. Evidence goes in fenced blocks whose fence is longer than any backtick
run inside, so it cannot close the fence.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from dufflebag_harness.reports.levels import sandbox_shortfall
from dufflebag_harness.reports.render._deps import dependency_view
from dufflebag_harness.reports.render._view import (
    INFLUENCED_NOTE,
    ReportView,
    ResultView,
    clean_text,
    view,
)

__all__ = ["escape_markdown", "render_markdown"]

_LEVEL_MARK = {"certified": "🟢", "provisional": "🟡", "failed": "🔴"}
_SPECIAL = re.compile(r"([\\`*_{}\[\]()#|~!])")
_ZWSP = "&#8203;"
# Autolinks and @mentions are recognised after escapes are resolved, so they are
# broken with a zero-width space instead: "http:&#8203;//", "www&#8203;.", "@&#8203;x".
_AUTOLINK = re.compile(r"(://|(?i:www)\.|@)")
_MAX_PROBLEMS = 50


def escape_markdown(text: Any, limit: int = 300) -> str:
    """One literal line of Markdown: no markup, HTML, mention or table cell break survives."""
    line = clean_text(text, limit)
    line = html.escape(line, quote=False)  # &amp; &lt; &gt; only: no "#" for _SPECIAL to break
    line = _SPECIAL.sub(r"\\\1", line)
    return _AUTOLINK.sub(lambda m: m.group(1)[0] + _ZWSP + m.group(1)[1:], line)


def code_spans(text: Any, limit: int = 4000) -> str:
    """Like :func:`escape_markdown`, but `backquoted` parts stay code spans (fix texts
    quote names that way); with unbalanced backquotes everything is escaped."""
    parts = clean_text(text, limit).split("`")
    if len(parts) % 2 == 0:
        return escape_markdown(text, limit)
    return "".join(_prose(part, limit) if i % 2 == 0 else f"`{part}`"
                   for i, part in enumerate(parts))


def _prose(part: str, limit: int) -> str:
    """An escaped stretch between code spans, keeping the space around it."""
    text = escape_markdown(part, limit)
    if not text:
        return " " if part[:1].isspace() else ""
    lead = " " if part[:1].isspace() else ""
    trail = " " if part[-1:].isspace() else ""
    return f"{lead}{text}{trail}"


def _fence(body: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _problem_rows(problems: list[ResultView]) -> list[str]:
    rows = ["| check | status | severity | reason |", "|---|---|---|---|"]
    for p in problems[:_MAX_PROBLEMS]:
        status = p.status + (" (waived)" if p.waived else "")
        rows.append(f"| `{p.pair}` | {status} | {p.severity} | "
                    f"{escape_markdown(p.reason) or escape_markdown(p.title)} |")
    if len(problems) > _MAX_PROBLEMS:
        rows.append(f"| … | | | {len(problems) - _MAX_PROBLEMS} more in report.html |")
    return rows


def _problem_blocks(problems: list[ResultView]) -> list[str]:
    """Under the table, each problem again with what to do: the fix, the docs link, the
    evidence folded."""
    out: list[str] = []
    for p in problems[:_MAX_PROBLEMS]:
        out += [f"#### `{p.pair}` {p.status} — {escape_markdown(p.title, 200)}", ""]
        if p.reason:
            out += [escape_markdown(p.reason, 1000), ""]
        fix = code_spans(p.fix) or "see the check's documentation"
        out += [f"> **How to fix:** {fix}", ">",
                f"> **Docs:** `{p.docs}` (dufflebag-harness documentation)", ""]
        if p.evidence:
            fence = _fence(p.evidence)
            out += ["<details><summary>Evidence for <code>" + html.escape(p.pair) +
                    "</code></summary>", "", f"{fence}json", p.evidence, fence, "",
                    "</details>", ""]
    return out


def _header(v: ReportView) -> list[str]:
    r = v.report
    s = v.summary
    run = r["run"]
    scope = f"profile `{run['profile']}`"
    if run["only"]:
        scope += " · only " + ", ".join(f"`{escape_markdown(x, 20)}`" for x in run["only"])
    st = v.standing
    verdict = ("marketplace-valid once `dufflebag-cert verify` accepts its signature"
               if st.marketplace_valid else "not marketplace-valid"
               + (": " + escape_markdown("; ".join(st.caveats), 600) if st.caveats else ""))
    lines = [
        f"## {_LEVEL_MARK.get(st.tone, '')} DuffleBag certification: **{st.headline}** — "
        f"{verdict}",
        "",
        f"**{escape_markdown(v.name, 40)}** {escape_markdown(v.version, 80)} · {scope} · "
        + (f"signed by `{r['signer']['fingerprint']}`" if r["signer"] else "**unsigned**"),
        "",
        "| pass | fail | error | skipped | flaky | required passed |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s['pass']} | {s['fail']} | {s['error']} | {s['skipped']} | {s['flaky']} | "
        f"{s['required_passed']} / {s['required_total']} |",
        "",
    ]
    if r["signer"] is None:
        lines += ["> ⚠️ Unsigned bundle: nothing vouches for it until `dufflebag-cert sign` "
                  "signs it.", ""]
    elif r["signer"]["development_key"]:
        lines += ["> ⚠️ Signed with a local development key: the marketplace will not trust it.",
                  ""]
    shortfall = sandbox_shortfall(r["environment"]["worker"])
    if shortfall is not None:
        lines += [f"> ⚠️ Not sandboxed: {shortfall}. The marketplace requires the sandbox "
                  "for certified.", ""]
    return lines


def _dependency_lines(report: Mapping[str, Any]) -> list[str]:
    deps = dependency_view(report)
    if deps is None:
        return []
    lines = [f"### Python dependencies ({len(deps.rows)})", "",
             f"{escape_markdown(deps.environment, 400)} · SBOM `{deps.sbom}` · "
             f"{escape_markdown(deps.policy)} · known vulnerabilities "
             f"{escape_markdown(deps.vulnerability_source)}", "",
             "| package | version | licence (SPDX) | why installed | licence policy | "
             "known vulnerabilities |", "|---|---|---|---|---|---|"]
    lines += [f"| `{escape_markdown(p.name, 100)}` | {escape_markdown(p.version, 64)} | "
              f"{escape_markdown(p.licence)} | {p.kind} | "
              f"{escape_markdown(p.licence_verdict) or '—'} | "
              f"{escape_markdown(p.vulnerabilities)} |" for p in deps.rows]
    lines.append("")
    if deps.findings:
        lines += [f"Findings traced to a distribution ({len(deps.findings)}; inherited: in a "
                  "dependency, own: in the extension's own distribution):", "",
                  "| check | distribution | origin | finding |", "|---|---|---|---|"]
        lines += [f"| `{f.check}` | {escape_markdown(f.distribution, 120)} | **{f.origin}** | "
                  f"{escape_markdown(f.detail)} |" for f in deps.findings[:100]]
        lines.append("")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """A PR-comment summary: level, counts, failures with evidence, waivers, skipped."""
    v = view(report, evidence_limit=2048)
    lines = _header(v)
    if v.problems:
        lines += [f"### Failures ({len(v.problems)})", "", *_problem_rows(v.problems), ""]
        lines += _problem_blocks(v.problems)
    else:
        lines += ["No failures.", ""]
    lines += _dependency_lines(report)
    public = report["extension"].get("public_routes") or []
    if public:
        lines += [f"### Declared public routes ({len(public)})", "",
                  "State-changing routes the extension declares open to anonymous callers "
                  "(`[[public_routes]]`); AU-06 admits these and no other.", "",
                  "| route | reason given |", "|---|---|"]
        lines += [f"| `{escape_markdown(p['method'], 10)} {escape_markdown(p['path'], 200)}` | "
                  f"{escape_markdown(p['reason'])} |" for p in public]
        lines.append("")
    waivers = report["waivers"]
    if waivers:
        lines += ["### Waivers", "", "| check | applied | expires | reason |", "|---|---|---|---|"]
        for w in waivers:
            applied = "yes" if w["applied"] else "no: " + escape_markdown(w.get("note", ""))
            lines.append(f"| `{escape_markdown(w['check'], 20)}` | {applied} | {w['expires']} | "
                         f"{escape_markdown(w['reason'])} |")
        lines.append("")
    if v.influenced:
        lines += [f"<details><summary>Verdicts the extension could have influenced "
                  f"({len(v.influenced)})</summary>", "",
                  INFLUENCED_NOTE, "",
                  ", ".join(f"`{r.pair}`" for r in v.influenced), "", "</details>", ""]
    if v.skipped:
        lines += [f"<details><summary>Skipped ({len(v.skipped)})</summary>", "",
                  "| check | reason |", "|---|---|"]
        lines += [f"| `{p.pair}` | {escape_markdown(p.reason)} |" for p in v.skipped[:200]]
        lines += ["", "</details>", ""]
    lines.append(f"<sub>catalog `{report['catalog']['version'][:19]}…` · report "
                 f"`{report['report_id']}` · valid until {report['validity']['not_after']}</sub>")
    return "\n".join(lines) + "\n"
