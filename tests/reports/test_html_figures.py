"""The HTML report's key figures: readable numbers and small charts, never a crash or a forgery."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

from conftest import make_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dufflebag_harness.reports import render_html

HOSTILE_ROUTE = "<script>alert(1)</script>"


class _Page(HTMLParser):
    """Tags with their attributes and the text inside each ``<article>`` card, by card id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cards: dict[str, list[str]] = {}
        self.svg_text: list[str] = []
        self._card: str | None = None
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        self.tags.append((tag, attr))
        if tag == "article":
            self._card = attr.get("id")
            self.cards[self._card or ""] = []
        if tag not in ("rect", "line", "polyline", "polygon"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "article":
            self._card = None
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        if self._card is not None and data.strip():
            self.cards[self._card].append(data.strip())
        if "svg" in self._stack and self._stack[-1] == "text" and data.strip():
            self.svg_text.append(data.strip())


def _page(figures: Any) -> tuple[str, _Page]:
    report: dict[str, Any] = dict(make_report())
    report["figures"] = figures
    page = render_html(report)
    parser = _Page()
    parser.feed(page)
    return page, parser


FIGURES: dict[str, Any] = {
    "overhead": {
        "added_p95_ms": 0.027, "limit_p95_ms": 5.0, "extensions_loaded": 5,
        "routes": {
            "GET /api/v1/me": {"latency_ms": {
                "with_p50": 0.373, "with_p95": 0.588, "with_p99": 0.697,
                "without_p50": 0.369, "without_p95": 0.561, "without_p99": 0.694}},
        },
    },
    "load": {"p50_ms": 4, "p95_ms": 24, "p99_ms": 33, "requests": 12257, "failures": 0,
             "rps": 1223.7166666666667,
             "per_request": {"GET /ext/a/ping": {"requests": 3065, "failures": 0, "p95_ms": 3}}},
    "memory": {"samples": [{"at_s": 0.0, "rss_mb": 150.3}, {"at_s": 5.0, "rss_mb": 150.9},
                           {"at_s": 10.0, "rss_mb": 152.3}]},
    "coverage": {"percent": 72.5, "branch_percent": 91.0, "lines_covered": 290,
                 "lines_total": 400},
    "fuzz.server_errors": {"operations": 3, "cases": 92, "failures": 1, "seed": 1210095221},
    "tests": {"total": 42, "succeeded": 41, "failed": 1},
    "concurrency": {"extensions": 10, "threads": 12, "requests": 540},
    "lifecycle_ms": {"start": 0.009, "stop": 0.031},
}


def test_key_figures_sit_between_failures_and_results_with_one_card_per_figure() -> None:
    page, parsed = _page(FIGURES)
    assert (page.index("<h2>Failures") < page.index("<h2>Key figures</h2>")
            < page.index("<h2>All results</h2>"))
    assert set(parsed.cards) == {"fig-overhead", "fig-load", "fig-memory", "fig-coverage",
                                 "fig-fuzz", "fig-tests", "fig-concurrency", "fig-lifecycle_ms"}


def test_overhead_shows_the_added_p95_against_the_limit_and_bars_per_route() -> None:
    _, parsed = _page(FIGURES)
    text = parsed.cards["fig-overhead"]
    assert "0.027 ms" in text and "limit 5 ms" in text
    assert "GET /api/v1/me" in parsed.svg_text
    # six bars: with and without, at p50, p95 and p99
    titles = [t for t in text if t.startswith("GET /api/v1/me p")]
    assert len(titles) == 6
    assert "GET /api/v1/me p99 with the extension: 0.697 ms" in titles
    assert {"0.369", "0.373", "0.694", "0.697"} <= set(parsed.svg_text)


def test_numbers_are_formatted_for_people() -> None:
    page, parsed = _page(FIGURES)
    load = parsed.cards["fig-load"]
    assert "12,257" in load and "1,223.7" in load and "24 ms" in load
    assert "1223.7166" not in page.split("<h2>All figures</h2>")[0]
    assert "3,065" in load  # the per-request table


def test_memory_sparkline_and_growth() -> None:
    _, parsed = _page(FIGURES)
    memory = parsed.cards["fig-memory"]
    assert "2 MB" in memory  # growth computed from the samples: 152.3 - 150.3
    assert "150.3 MB" in memory and "152.3 MB" in memory
    polylines = [a for t, a in parsed.tags if t == "polyline"]
    assert len(polylines) == 1 and len((polylines[0]["points"] or "").split()) == 3


def test_coverage_bar_marks_the_threshold_and_flags_a_shortfall() -> None:
    page, parsed = _page(FIGURES)
    coverage = parsed.cards["fig-coverage"]
    assert "72.5 %" in coverage and "threshold 80 %" in coverage
    assert "lines · 290 of 400" in coverage
    section = page[page.index('id="fig-coverage"'):page.index('id="fig-fuzz"')]
    assert 'class="num bad">72.5 %' in section and 'class="num good">91 %' in section
    # the marker stands at 80 % of the 520-wide track
    assert 'x1="416.0"' in section


def test_fuzz_tests_concurrency_and_lifecycle_are_stat_rows() -> None:
    _, parsed = _page(FIGURES)
    assert "1210095221" in parsed.cards["fig-fuzz"] and "92" in parsed.cards["fig-fuzz"]
    assert "42" in parsed.cards["fig-tests"] and "41" in parsed.cards["fig-tests"]
    assert "540" in parsed.cards["fig-concurrency"]
    assert "0.031 ms" in parsed.cards["fig-lifecycle_ms"]


def test_no_figures_no_key_figures_and_no_charts() -> None:
    page, parsed = _page({})
    assert "Key figures" not in page
    assert not any(tag == "svg" for tag, _ in parsed.tags)
    assert "None recorded." in page


def test_all_figures_are_kept_collapsed_and_pretty_printed() -> None:
    page, parsed = _page(FIGURES)
    details = [a for t, a in parsed.tags if t == "details"]
    # the raw figures and the sandbox's mount list, both collapsed
    assert len(details) == 2 and not any("open" in d for d in details)
    raw = page[page.index("<h2>All figures</h2>"):]
    assert '&#34;with_p50&#34;: 0.373' in raw or '"with_p50": 0.373' in raw
    assert "\n" in raw[raw.index("<pre>"):raw.index("</pre>")]


def test_hostile_strings_inside_figures_are_escaped_everywhere() -> None:
    figures = json.loads(json.dumps(FIGURES))
    route = figures["overhead"]["routes"].pop("GET /api/v1/me")
    figures["overhead"]["routes"][HOSTILE_ROUTE + "\u202e"] = route
    figures["load"]["per_request"] = {HOSTILE_ROUTE: {"requests": 1}}
    figures["lifecycle_ms"] = {'"><svg onload=alert(1)>': 1.0}
    page, parsed = _page(figures)
    assert not any(tag == "script" for tag, _ in parsed.tags)
    assert not any(any(k.startswith("on") for k in attrs) for _, attrs in parsed.tags)
    assert "<script>" not in page and "\u202e" not in page
    assert HOSTILE_ROUTE in parsed.svg_text  # shown, as text
    assert HOSTILE_ROUTE in parsed.cards["fig-load"]


def test_malformed_figures_fall_back_to_the_raw_view() -> None:
    figures = {
        "overhead": {"added_p95_ms": "fast", "limit_p95_ms": [5], "routes": ["GET /"]},
        "load": ["p50", 4],
        "memory": {"samples": [{"at_s": "x", "rss_mb": None}, 7, "s"]},
        "coverage": {"percent": True, "branch_percent": {"x": 1}},
        "fuzz.server_errors": "none",
        "tests": {"total": float("inf")},
        "lifecycle_ms": {"start": "0.1"},
        "concurrency": None,
    }
    page, parsed = _page(figures)
    assert parsed.cards == {}
    assert "Key figures" not in page
    raw = page[page.index("<h2>All figures</h2>"):]
    assert "fast" in raw and "GET /" in raw


def test_partly_malformed_figures_keep_what_is_readable() -> None:
    figures = {"overhead": {"added_p95_ms": 9.5, "limit_p95_ms": 5.0,
                            "routes": {"GET /a": "oops", "GET /b": {"latency_ms": [1]}}},
               "memory": {"samples": [{"at_s": 1, "rss_mb": 10}], "growth_mb": "lots"}}
    page, parsed = _page(figures)
    overhead = parsed.cards["fig-overhead"]
    assert "9.5 ms" in overhead and "limit 5 ms" in overhead
    section = page[page.index('id="fig-overhead"'):]
    assert 'class="bad">9.5 ms' in section  # over the limit
    assert "fig-memory" not in parsed.cards  # one sample, no growth: nothing to draw


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=12,
)
_keys = st.sampled_from(["overhead", "load", "memory", "coverage", "fuzz.server_errors",
                         "fuzz.schema_conformance", "tests", "concurrency", "lifecycle_ms"])
_fields = st.sampled_from(["added_p95_ms", "limit_p95_ms", "routes", "latency_ms", "with_p50",
                           "without_p95", "per_request", "samples", "at_s", "rss_mb",
                           "percent", "growth_mb", "limits", "min_growth_mb", "p50_ms"])
_shaped = st.recursive(
    st.none() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_fields | st.text(max_size=6),
                                                                inner, max_size=4),
    max_leaves=16,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _shaped | _json, max_size=5))
def test_any_figure_shape_renders(figures: dict[str, Any]) -> None:
    page, _ = _page(figures)
    assert "<h2>All figures</h2>" in page
