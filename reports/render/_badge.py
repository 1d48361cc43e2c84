"""A shields-style SVG badge ("dufflebag | certified") for READMEs and listings.

It says *certified* (green) only of a report ``verify --require-level certified``
would not refuse on its face; one that passed every check but is signed with a
development key, unsigned or not sandboxed reads "passed all checks" in amber.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from dufflebag_harness.reports.levels import standing
from dufflebag_harness.reports.render._view import LEVEL_COLOURS, clean_text

__all__ = ["render_badge"]

_CHAR_PX = 7
_PAD_PX = 10


def render_badge(report: Mapping[str, Any], label: str = "dufflebag") -> str:
    """An SVG badge with the level, coloured by level; the title names extension and version."""
    honest = standing(report)
    level = honest.headline
    colour = LEVEL_COLOURS.get(honest.tone, "#555555")
    left = len(label) * _CHAR_PX + 2 * _PAD_PX
    right = len(level) * _CHAR_PX + 2 * _PAD_PX
    width = left + right
    name = clean_text(report["extension"]["name"], 40)
    version = clean_text(report["extension"]["version"], 80)
    title = escape(f"{name} {version}: {clean_text(honest.verdict, 600)}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label={quoteattr(f"{label}: {level}")}>'
        f"<title>{title}</title>"
        f'<rect width="{left}" height="20" fill="#555"/>'
        f'<rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" '
        'text-anchor="middle">'
        f'<text x="{left / 2:.1f}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2:.1f}" y="14">{escape(level)}</text>'
        "</g></svg>\n"
    )
