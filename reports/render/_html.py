"""The HTML report: one self-contained page (inline CSS, no scripts, no network).

Jinja2 autoescaping escapes every value; a Content-Security-Policy that allows
no scripts and no fetches is a second line should escaping ever be bypassed.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from dufflebag_harness.reports.levels import sandbox_shortfall
from dufflebag_harness.reports.render._deps import dependency_view
from dufflebag_harness.reports.render._figures import key_figures, raw_figures
from dufflebag_harness.reports.render._view import INFLUENCED_NOTE, clean_text, view

__all__ = ["render_html"]


def code_spans(text: object) -> Markup:
    """Escaped text whose `backquoted` parts become ``<code>`` (fix texts quote names
    that way); with unbalanced backquotes the text stays literal. Every piece is
    escaped, so nothing in the text can become markup."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:
        return escape(str(text))
    return Markup("").join(
        escape(part) if i % 2 == 0 else Markup("<code>%s</code>") % part
        for i, part in enumerate(parts))


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dufflebag_harness.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["clean"] = clean_text
    env.filters["code_spans"] = code_spans
    env.globals["sandbox_shortfall"] = sandbox_shortfall
    env.globals["influenced_note"] = INFLUENCED_NOTE
    return env


def render_html(report: Mapping[str, Any]) -> str:
    """The report as a standalone HTML page: level first, then failures, key figures, everything.

    Figures are drawn as inline SVG (no scripts, no fonts, nothing fetched), so the page
    stays viewable offline and under the page's own Content-Security-Policy.
    """
    v = view(report)
    figures = report.get("figures")
    template = _environment().get_template("report.html.j2")
    return template.render(v=v, r=report, s=v.summary, cards=key_figures(figures),
                           deps=dependency_view(report),
                           raw_figures=raw_figures(figures))
