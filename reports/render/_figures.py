"""Key figures: the numbers a reviewer needs at a glance, with the geometry of small charts.

Figures are written by the checks but shaped by what the extension did (route names,
counts, timings), so every figure is optional and may arrive in any JSON shape. Each
card builder reads only what it understands and returns ``None`` otherwise; the raw
view below the cards always shows everything. Text stays plain here: the template
escapes it (Jinja2 autoescape covers SVG ``<text>`` too). Chart geometry is computed
here so the template only draws, and numbers are formatted once, here.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dufflebag_harness.reports.render._view import clean_text

__all__ = [
    "Bar",
    "Card",
    "GroupedBars",
    "Label",
    "LimitBar",
    "Sparkline",
    "Stat",
    "Table",
    "fmt",
    "key_figures",
    "raw_figures",
]

# CV-02's floor; a figure may carry its own (``threshold_percent``), which wins.
COVERAGE_THRESHOLD = 80.0
MAX_ROWS = 40  # table rows and chart groups shown; the raw view keeps the rest
MAX_POINTS = 400  # sparkline points; more are thinned evenly
RAW_LIMIT = 20_000  # characters of one pretty-printed figure in the raw view
LABEL_LIMIT = 60
MEMORY_SPAN = 4.0  # MB: the memory check's default floor; below it growth is allocator noise


def fmt(value: float, unit: str = "") -> str:
    """A number a person reads: thousands separated, few decimals, no float noise."""
    if isinstance(value, bool) or not math.isfinite(value):
        return "n/a"
    if isinstance(value, int) or (value == int(value) and abs(value) >= 1000):
        text = f"{int(value):,}"
    else:
        size = abs(value)
        if size != 0 and size < 0.001:
            text = f"{value:.2g}"
        else:
            digits = 1 if size >= 1000 else 2 if size >= 1 else 3
            text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    return f"{text} {unit}" if unit else text


def _num(value: Any) -> float | None:
    """``value`` as a finite number, or ``None`` (booleans and strings are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _map(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _label(value: Any) -> str:
    return clean_text(value, LABEL_LIMIT)


@dataclass(frozen=True)
class Stat:
    label: str
    value: str
    tone: str = ""  # "good", "bad" or "" (neutral): a CSS class, never extension text
    detail: str = ""


@dataclass(frozen=True)
class LimitBar:
    """A value drawn against its limit; the bar scale ends a little past the larger one."""

    label: str
    value: float
    limit: float
    unit: str
    value_text: str
    limit_text: str
    value_x: float  # bar width, in chart units of WIDTH
    limit_x: float
    over: bool
    width: int = 520
    limit_word: str = "limit"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str
    value_text: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    kind: str  # "section" (a route) or "row" (a percentile): a CSS class


@dataclass(frozen=True)
class GroupedBars:
    """Horizontal bars: sections (routes) of rows (percentiles), one bar per series."""

    series: list[str]
    labels: list[Label]
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # x position, label
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float


@dataclass(frozen=True)
class Sparkline:
    points: str  # SVG polyline points
    area: str  # SVG polygon points, for the light fill under the line
    width: int
    height: int
    first: str
    last: str
    low: str
    high: str
    span: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    hidden: int = 0  # rows left for the raw view


@dataclass
class Card:
    """One figure, as a reviewer sees it: headline numbers, then charts, then detail."""

    key: str
    title: str
    stats: list[Stat] = field(default_factory=list)
    limit_bars: list[LimitBar] = field(default_factory=list)
    grouped: GroupedBars | None = None
    sparkline: Sparkline | None = None
    table: Table | None = None
    note: str = ""
    wide: bool = False


# --- charts --------------------------------------------------------------------------


def limit_bar(label: str, value: float, limit: float, unit: str, width: int = 520) -> LimitBar:
    scale = max(limit, value, 1e-12) * 1.1
    shown = max(value, 0.0)
    return LimitBar(
        label=label, value=value, limit=limit, unit=unit,
        value_text=fmt(value, unit), limit_text=fmt(limit, unit),
        value_x=round(max(shown / scale * width, 1.5 if shown > 0 else 0.0), 2),
        limit_x=round(limit / scale * width, 2), over=value > limit, width=width,
    )


def _nice_step(top: float) -> float:
    raw = top / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10.0 * magnitude


Section = tuple[str, list[tuple[str, list[float | None]]]]


def grouped_bars(sections: list[Section], series: list[str], unit: str) -> GroupedBars | None:
    """Bars for each section's rows of per-series values; ``None`` when nothing is drawable.

    Horizontal, so that long route names get the full width on their own line.
    """
    values = [v for _, rows in sections for _, vs in rows for v in vs if v is not None]
    if not values:
        return None
    top = max(max(values), 0.0)
    step = _nice_step(top) if top > 0 else 1.0
    top = step * max(math.ceil(top / step - 1e-9), 1)
    left, plot_w, bar_h, gap = 40.0, 520.0, 9.0, 2.0
    row_pitch, section_h = len(series) * (bar_h + gap) + 6, 20.0
    labels: list[Label] = []
    bars: list[Bar] = []
    y = 4.0
    plot_top = y
    for name, rows in sections:
        labels.append(Label(x=0.0, y=y + 13, text=name, kind="section"))
        y += section_h
        for row_label, vs in rows:
            labels.append(Label(x=left - 6, y=y + row_pitch / 2 + 1, text=row_label, kind="row"))
            for i, v in enumerate(vs):
                if v is None:
                    continue
                w = max(v, 0.0) / top * plot_w
                bars.append(Bar(x=left, y=round(y + 3 + i * (bar_h + gap), 2),
                                width=round(w, 2), height=bar_h, series=i,
                                title=f"{name} {row_label} {series[i]}: {fmt(v, unit)}",
                                value_text=fmt(v)))
            y += row_pitch
        y += 4
    ticks = [(round(left + k * step / top * plot_w, 2), fmt(k * step, unit if k else ""))
             for k in range(round(top / step) + 1)]
    return GroupedBars(series=series, labels=labels, bars=bars, ticks=ticks,
                       width=left + plot_w + 48, height=round(y + 16, 2), plot_left=left,
                       plot_right=left + plot_w, plot_top=plot_top, plot_bottom=round(y, 2))


def sparkline(points: list[tuple[float, float]], unit: str, width: int = 520, height: int = 90,
              min_span: float = 0.0) -> Sparkline | None:
    """A line of ``(x, y)`` points scaled into the box; ``None`` below two points.

    ``min_span`` keeps the vertical scale from magnifying noise: 0.1 MB of drift
    should look flat, not like a leak.
    """
    if len(points) < 2:
        return None
    if len(points) > MAX_POINTS:
        stride = len(points) / MAX_POINTS
        points = [points[int(i * stride)] for i in range(MAX_POINTS)] + [points[-1]]
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    pad = 4.0
    xr = (x1 - x0) or 1.0
    yr = max(y1 - y0, min_span) or 1.0

    def at(px: float, py: float) -> str:
        sx = pad + (px - x0) / xr * (width - 2 * pad)
        sy = height - pad - (py - y0) / yr * (height - 2 * pad)
        return f"{sx:.1f},{sy:.1f}"

    line = " ".join(at(px, py) for px, py in points)
    area = f"{pad:.1f},{height - pad:.1f} {line} {width - pad:.1f},{height - pad:.1f}"
    return Sparkline(points=line, area=area, width=width, height=height,
                     first=fmt(ys[0], unit), last=fmt(ys[-1], unit), low=fmt(y0, unit),
                     high=fmt(y1, unit), span=fmt(x1 - x0, "s"))


# --- cards ---------------------------------------------------------------------------


def _stats(data: Mapping[str, Any], spec: Iterable[tuple[str, str, str]],
           bad_if_positive: Iterable[str] = ()) -> list[Stat]:
    """Stats for the numeric keys of ``spec`` (key, label, unit) that ``data`` holds."""
    bad = set(bad_if_positive)
    out = []
    for key, label, unit in spec:
        value = _num(data.get(key))
        if value is None:
            continue
        tone = ("bad" if value > 0 else "good") if key in bad else ""
        out.append(Stat(label, fmt(value, unit), tone))
    return out


def _overhead(data: Mapping[str, Any]) -> Card | None:
    card = Card("overhead", "Overhead of loading the extension", wide=True)
    card.stats = _stats(data, [("added_p95_ms", "added p95", "ms"),
                               ("limit_p95_ms", "limit", "ms"),
                               ("extensions_loaded", "extensions loaded", ""),
                               ("rounds", "rounds", ""),
                               ("samples_per_round", "samples / round", "")])
    added, limit = _num(data.get("added_p95_ms")), _num(data.get("limit_p95_ms"))
    if added is not None and limit is not None and limit > 0:
        card.limit_bars.append(limit_bar("added p95 latency", added, limit, "ms"))
    routes = _map(data.get("routes"))
    if routes:
        shown = MAX_ROWS // 4
        sections: list[Section] = []
        for name, route in list(routes.items())[:shown]:
            latency = _map(route.get("latency_ms")) if isinstance(route, Mapping) else None
            if latency is None:
                continue
            rows: list[tuple[str, list[float | None]]] = []
            for pct in ("p50", "p95", "p99"):
                pair = [_num(latency.get(f"without_{pct}")), _num(latency.get(f"with_{pct}"))]
                if any(v is not None for v in pair):
                    rows.append((pct, pair))
            if rows:
                sections.append((_label(name), rows))
        card.grouped = grouped_bars(sections, ["without the extension", "with the extension"],
                                    "ms")
        if len(routes) > shown:
            card.note = f"{len(routes) - shown} more routes in All figures."
    return card if card.stats or card.limit_bars or card.grouped else None


def _load(data: Mapping[str, Any]) -> Card | None:
    card = Card("load", "Load", wide=True)
    card.stats = _stats(data, [("p50_ms", "p50", "ms"), ("p95_ms", "p95", "ms"),
                               ("p99_ms", "p99", "ms"), ("requests", "requests", ""),
                               ("failures", "failures", ""), ("rps", "requests / s", ""),
                               ("users", "users", ""), ("duration_s", "duration", "s")],
                        bad_if_positive=["failures"])
    per_request = _map(data.get("per_request"))
    if per_request:
        columns = [("requests", ""), ("failures", ""), ("p50_ms", ""), ("p95_ms", ""),
                   ("p99_ms", ""), ("avg_ms", ""), ("rps", "")]
        rows = []
        for name, entry in list(per_request.items())[:MAX_ROWS]:
            entry_map = _map(entry) or {}
            cells = [_num(entry_map.get(key)) for key, _ in columns]
            rows.append([_label(name)] + ["" if c is None else fmt(c) for c in cells])
        card.table = Table(["request", "requests", "failures", "p50 ms", "p95 ms", "p99 ms",
                            "avg ms", "req/s"], rows, max(len(per_request) - MAX_ROWS, 0))
    generator = data.get("generator")
    if isinstance(generator, str):
        card.note = f"Measured with {_label(generator)}."
    return card if card.stats or card.table else None


def _memory(data: Mapping[str, Any]) -> Card | None:
    card = Card("memory", "Memory under load")
    samples = data.get("samples")
    points: list[tuple[float, float]] = []
    if isinstance(samples, list):
        for sample in samples:
            sample_map = _map(sample) or {}
            at, rss = _num(sample_map.get("at_s")), _num(sample_map.get("rss_mb"))
            if at is not None and rss is not None:
                points.append((at, rss))
    points.sort()
    growth = _num(data.get("growth_mb"))
    if growth is None and len(points) >= 2:
        growth = points[-1][1] - points[0][1]
    if growth is not None:
        card.stats.append(Stat("growth", fmt(growth, "MB")))
    card.stats += _stats(data, [("late_growth_mb", "late growth", "MB"),
                                ("kb_per_request", "per request", "KB")])
    limits = _map(data.get("limits")) or {}
    span = _num(limits.get("min_growth_mb"))
    card.sparkline = sparkline(points, "MB", min_span=MEMORY_SPAN if span is None else span)
    return card if card.stats or card.sparkline else None


def _coverage(data: Mapping[str, Any]) -> Card | None:
    card = Card("coverage", "Coverage of the extension's own tests")
    threshold = _num(data.get("threshold_percent"))
    threshold = COVERAGE_THRESHOLD if threshold is None else threshold
    for key, label, covered, total in (
            ("percent", "lines", "lines_covered", "lines_total"),
            ("branch_percent", "branches", "branches_covered", "branches_total")):
        percent = _num(data.get(key))
        if percent is None:
            continue
        c, t = _num(data.get(covered)), _num(data.get(total))
        detail = f"{fmt(c)} of {fmt(t)}" if c is not None and t is not None else ""
        card.stats.append(Stat(label, fmt(percent, "%"),
                               "good" if percent >= threshold else "bad", detail))
        # A progress bar: the scale is 0 to 100 %, the threshold a marker on it.
        width = 520
        card.limit_bars.append(LimitBar(
            label=label, value=percent, limit=threshold, unit="%",
            value_text=fmt(percent, "%"), limit_text=fmt(threshold, "%"),
            value_x=round(min(max(percent, 0.0), 100.0) / 100 * width, 2),
            limit_x=round(min(max(threshold, 0.0), 100.0) / 100 * width, 2),
            over=percent < threshold, width=width, limit_word="threshold"))
    never = data.get("never_imported")
    if isinstance(never, list) and never:
        card.note = "Never imported: " + ", ".join(_label(n) for n in never[:10])
    return card if card.stats else None


_FUZZ = {"fuzz.server_errors": "no server errors", "fuzz.schema_conformance": "schema conformance"}


def _fuzzing(figures: Mapping[str, Any]) -> Card | None:
    columns = [("operations", "operations"), ("cases", "cases"), ("failures", "failures"),
               ("examples_per_operation", "examples / op"), ("seed", "seed")]
    rows = []
    for key, label in _FUZZ.items():
        data = _map(figures.get(key))
        if data is None:
            continue
        cells = []
        for name, _ in columns:
            value = _num(data.get(name))
            cells.append("" if value is None else str(int(value)) if name == "seed"
                         else fmt(value))
        if any(cells):
            rows.append([label, *cells])
    if not rows:
        return None
    headers = ["property", *(c for _, c in columns)]
    return Card("fuzz", "API fuzzing", wide=True, table=Table(headers, rows))


def _stat_card(key: str, title: str, spec: list[tuple[str, str, str]],
               bad: Iterable[str] = ()) -> Callable[[Mapping[str, Any]], Card | None]:
    def build(data: Mapping[str, Any]) -> Card | None:
        stats = _stats(data, spec, bad)
        return Card(key, title, stats=stats) if stats else None
    return build


def _lifecycle(data: Mapping[str, Any]) -> Card | None:
    stats = [Stat(_label(k), fmt(v, "ms")) for k, raw in list(data.items())[:12]
             if (v := _num(raw)) is not None]
    return Card("lifecycle_ms", "Lifecycle timings", stats=stats) if stats else None


_CARDS: list[tuple[str, Callable[[Mapping[str, Any]], Card | None]]] = [
    ("overhead", _overhead),
    ("load", _load),
    ("memory", _memory),
    ("coverage", _coverage),
    ("tests", _stat_card("tests", "The extension's own tests", [
        ("total", "total", ""), ("succeeded", "passed", ""), ("failed", "failed", ""),
        ("errors", "errors", ""), ("skipped", "skipped", ""), ("duration_s", "duration", "s")],
        bad=["failed", "errors"])),
    ("concurrency", _stat_card("concurrency", "Concurrency", [
        ("extensions", "extensions", ""), ("threads", "threads", ""),
        ("requests", "requests", ""), ("seconds", "duration", "s")])),
    ("lifecycle_ms", _lifecycle),
]


def key_figures(figures: Any) -> list[Card]:
    """Cards for the figures this page knows how to draw, in a fixed reading order.

    A figure whose shape is unexpected gets no card, and no error: the raw view still
    shows it. Only the shape is guarded here, so a genuine bug still surfaces in tests.
    """
    figures_map = _map(figures)
    if figures_map is None:
        return []
    cards: list[Card] = []
    for key, build in _CARDS:
        data = _map(figures_map.get(key))
        card = build(data) if data is not None else None
        if card is not None:
            cards.append(card)
        if key == "coverage" and (fuzz := _fuzzing(figures_map)) is not None:
            cards.append(fuzz)
    return cards


def raw_figures(figures: Any) -> list[tuple[str, str]]:
    """Every figure as (key, pretty-printed JSON), cleaned of invisible characters, capped."""
    figures_map = _map(figures) or {}
    out = []
    for key in sorted(figures_map, key=str):
        value = figures_map[key]
        text = (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
                if not isinstance(value, str) else value)
        out.append((clean_text(key, 80), clean_text(text, RAW_LIMIT, one_line=False)))
    return out
