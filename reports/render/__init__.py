"""Renderers of a report: HTML, Markdown, JUnit XML, SARIF 2.1.0 and an SVG badge.

Each takes a validated report dict and returns text (JUnit: bytes). None of them
trusts the strings inside: reasons and evidence come from judging an extension.
"""

from __future__ import annotations

from dufflebag_harness.reports.render._badge import render_badge
from dufflebag_harness.reports.render._html import render_html
from dufflebag_harness.reports.render._junit import render_junit
from dufflebag_harness.reports.render._markdown import escape_markdown, render_markdown
from dufflebag_harness.reports.render._sarif import render_sarif

__all__ = [
    "escape_markdown",
    "render_badge",
    "render_html",
    "render_junit",
    "render_markdown",
    "render_sarif",
]
