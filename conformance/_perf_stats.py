"""Statistics for latency and memory verdicts, kept apart so they can be tested alone.

Latency verdicts use percentiles of raw samples (never means: one stall would
move a mean, while the requirement is about what most requests pay) and the
median over several rounds (one noisy round on a shared 2-core machine must not
decide a verdict). Memory verdicts ask for a robust trend, not one high sample.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: Percentiles every latency figure reports.
PERCENTILES = (50, 95, 99)


def percentile(samples: Sequence[float], q: int) -> float:
    """The ``q``-th percentile (1..99) of ``samples``, interpolated between ranks."""
    if not 1 <= q <= 99:
        raise ValueError(f"percentile: q must be within 1..99, got {q}")
    if not samples:
        raise ValueError("percentile: no samples")
    if len(samples) == 1:
        return float(samples[0])
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def latency_summary(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50/p95/p99 of nanosecond samples, in milliseconds (3 decimals)."""
    ms = [s / 1e6 for s in samples_ns]
    return {f"p{q}": round(percentile(ms, q), 3) for q in PERCENTILES}


def added(with_ext: Mapping[str, float], without: Mapping[str, float]) -> dict[str, float]:
    """Per-percentile difference ``with_ext - without`` (what the extension adds)."""
    return {k: round(with_ext[k] - without[k], 3) for k in with_ext}


def median_of_rounds(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Key by key, the median over rounds."""
    if not rounds:
        raise ValueError("median_of_rounds: no rounds")
    return {k: round(statistics.median(r[k] for r in rounds), 3) for k in rounds[0]}


@dataclass(frozen=True)
class GrowthLimits:
    """When growth is a leak: enough of it, per request served, and still going on."""

    kb_per_request: float = 8.0  # retained per request served in the window
    min_growth_mb: float = 4.0  # below this, growth is allocator noise whatever the rate
    late_share: float = 0.25  # share of the growth that must fall in the second half


@dataclass(frozen=True)
class GrowthVerdict:
    """Whether resident memory (after garbage collection) kept growing under load.

    ``growth_mb`` is the trend's growth over the measured window (after
    warm-up); ``late_growth_mb`` the trend's growth over the window's second
    half. A leak grows throughout and in proportion to traffic; a cache filling
    up once, or an allocator arena taken once, grows early and then stays.
    """

    growth_mb: float
    late_growth_mb: float
    requests: int
    kb_per_request: float
    limits: GrowthLimits
    leaking: bool

    @property
    def reason(self) -> str:
        if not self.leaking:
            return ""
        return (f"resident memory after garbage collection grew {self.growth_mb:.1f} MB over "
                f"{self.requests} requests under load ({self.kb_per_request:.0f} KB retained "
                f"per request; limit {self.limits.kb_per_request:.0f} KB) and was still "
                f"growing at the end (+{self.late_growth_mb:.1f} MB in the second half)")


def theil_sen_slope(points: Sequence[tuple[float, float]]) -> float:
    """Median of the slopes between every two points: a trend one outlier cannot bend."""
    slopes = [(y2 - y1) / (x2 - x1)
              for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1:] if x2 != x1]
    if not slopes:
        raise ValueError("theil_sen_slope: needs two points with different x")
    return statistics.median(slopes)


def judge_growth(points: Sequence[tuple[float, float]], requests: int,
                 limits: GrowthLimits | None = None) -> GrowthVerdict:
    """Judge post-gc samples ``(seconds, rss_mb)`` across the measured window, during
    which ``requests`` requests were served.

    The trend is the Theil-Sen slope (robust: a single high or low sample does
    not make or break it). Leaking means all of: the trend grows at least
    ``min_growth_mb`` over the window; that is at least ``kb_per_request`` per
    request served; and the trend over the second half of the samples is still
    at least ``late_share`` of the whole window's (it did not level off).
    """
    limits = limits or GrowthLimits()
    if len(points) < 4:
        raise ValueError(f"judge_growth: needs at least 4 samples, got {len(points)}")
    if requests < 0:
        raise ValueError(f"judge_growth: requests must be >= 0, got {requests}")
    ordered = sorted(points)
    span = ordered[-1][0] - ordered[0][0]
    if span <= 0:
        raise ValueError("judge_growth: samples must span some time")
    slope = theil_sen_slope(ordered)
    second = ordered[len(ordered) // 2:]
    late_slope = theil_sen_slope(second)
    growth = slope * span
    late = late_slope * (second[-1][0] - second[0][0])
    per_request = growth * 1024 / max(requests, 1)
    leaking = (growth >= limits.min_growth_mb and per_request >= limits.kb_per_request
               and late_slope >= limits.late_share * slope)
    return GrowthVerdict(round(growth, 2), round(late, 2), requests, round(per_request, 2),
                         limits, leaking)


__all__ = [
    "PERCENTILES",
    "GrowthLimits",
    "GrowthVerdict",
    "added",
    "judge_growth",
    "latency_summary",
    "median_of_rounds",
    "percentile",
    "theil_sen_slope",
]
