"""Per-host Prometheus metrics and per-extension request statistics.

Each host owns a :class:`~prometheus_client.CollectorRegistry`, so several hosts
in one process (tests, the worker) never share or collide on metrics. Raw
latency samples are kept in a bounded ring per extension for the management
API's percentiles.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ExtensionStats", "HostMetrics"]


class ExtensionStats:
    """Counters the management API reports for one extension."""

    __slots__ = ("errors", "in_flight", "latencies", "rejected", "requests")

    def __init__(self, samples: int) -> None:
        self.requests = 0
        self.errors = 0
        self.in_flight = 0
        self.rejected: dict[str, int] = {}
        self.latencies: deque[float] = deque(maxlen=samples)

    def snapshot(self) -> dict[str, Any]:
        data = sorted(self.latencies)
        p50: float | None
        p95: float | None
        if len(data) >= 2:
            cuts = statistics.quantiles(data, n=100, method="inclusive")
            p50, p95 = cuts[49], cuts[94]
        elif data:
            p50 = p95 = data[0]
        else:
            p50 = p95 = None
        return {
            "requests": self.requests,
            "errors": self.errors,
            "in_flight": self.in_flight,
            "rejected": dict(self.rejected),
            "latency_ms": {
                "p50": None if p50 is None else round(p50 * 1000, 3),
                "p95": None if p95 is None else round(p95 * 1000, 3),
                "samples": len(data),
            },
        }


class HostMetrics:
    """The host's metric families (label ``extension``) on its own registry."""

    def __init__(self, samples: int = 2048) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._samples = samples
        self.stats: dict[str, ExtensionStats] = {}
        self.requests = Counter(
            "dufflebag_extension_requests",
            "Requests served by an extension's routes.",
            ["extension"],
            registry=self.registry,
        )
        self.errors = Counter(
            "dufflebag_extension_errors",
            "Requests to an extension's routes that ended in a 5xx answer.",
            ["extension"],
            registry=self.registry,
        )
        self.rejections = Counter(
            "dufflebag_extension_rejections",
            "Requests refused by a quota (rate_limit, concurrency) or cut (timeout).",
            ["extension", "reason"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "dufflebag_extension_request_duration_seconds",
            "Time spent in an extension's route, middleware included.",
            ["extension"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "dufflebag_extension_in_flight",
            "Requests currently inside an extension's route.",
            ["extension"],
            registry=self.registry,
        )
        self.hook_failures = Counter(
            "dufflebag_extension_failures",
            "Failures counted against an extension (handler, middleware, hook, timeout).",
            ["extension"],
            registry=self.registry,
        )

    def for_extension(self, name: str) -> ExtensionStats:
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = ExtensionStats(self._samples)
        return stats

    def observe(self, name: str, seconds: float, status: int) -> None:
        stats = self.for_extension(name)
        stats.requests += 1
        stats.latencies.append(seconds)
        self.requests.labels(name).inc()
        self.duration.labels(name).observe(seconds)
        if status >= 500:
            stats.errors += 1
            self.errors.labels(name).inc()

    def reject(self, name: str, reason: str) -> None:
        stats = self.for_extension(name)
        stats.rejected[reason] = stats.rejected.get(reason, 0) + 1
        self.rejections.labels(name, reason).inc()
