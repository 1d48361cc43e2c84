"""Statistics for latency and memory verdicts, kept apart so they can be tested alone.

Latency verdicts use percentiles of raw samples (never means: one stall would
move a mean, while the requirement is about what most requests pay) and the
median over several rounds (one noisy round on a shared 2-core machine must not
decide a verdict). Memory verdicts ask for a trend, not one high sample.
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

    ``growth_mb`` is the growth over the measured window (after warm-up);
    ``late_growth_mb`` the part of it in the window's second half. A leak grows
    in both halves and in proportion to traffic; a cache filling up once, or an
    allocator arena taken once, grows early and then stays.
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


def judge_growth(samples_mb: Sequence[float], requests: int,
                 limits: GrowthLimits | None = None) -> GrowthVerdict:
    """Judge post-gc RSS samples taken at even intervals across the measured window,
    during which ``requests`` requests were served.

    Leaking means all of: the last sample exceeds the first by at least
    ``min_growth_mb``; that growth is at least ``kb_per_request`` per request
    served; and at least ``late_share`` of it happened in the second half (the
    median of the middle samples splits the halves, so one odd sample cannot
    make or break the trend).
    """
    limits = limits or GrowthLimits()
    if len(samples_mb) < 3:
        raise ValueError(f"judge_growth: needs at least 3 samples, got {len(samples_mb)}")
    if requests < 0:
        raise ValueError(f"judge_growth: requests must be >= 0, got {requests}")
    first, last = samples_mb[0], samples_mb[-1]
    n = len(samples_mb)
    middle = statistics.median(samples_mb[max(1, n // 2 - 1): n // 2 + 1])
    growth, late = last - first, last - middle
    per_request = growth * 1024 / max(requests, 1)
    leaking = (growth >= limits.min_growth_mb and per_request >= limits.kb_per_request
               and late >= limits.late_share * growth)
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
]
