"""Per-host Prometheus metrics and per-extension request statistics.

Each host owns a :class:`~prometheus_client.CollectorRegistry`, so several hosts
in one process (tests, the worker) never share or collide on metrics. Raw
latency samples are kept in a bounded ring per extension for the management
API's percentiles.

Looking up a labelled child (``family.labels(name)``) takes a lock and a dict
lookup, too much to repeat on every request, so each extension's children are
kept on its :class:`ExtensionStats` once made. They are still made on first
use, so a series appears in ``/metrics`` only once something happened to it.
The in-flight gauge reads the count the statistics keep anyway when it is
scraped, instead of being moved up and down on every request.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from prometheus_client.metrics import MetricWrapperBase

__all__ = ["ExtensionStats", "HostMetrics"]

_F = TypeVar("_F", Counter, Gauge, Histogram)


class ExtensionStats:
    """Counters the management API reports for one extension, and its metric children."""

    __slots__ = (
        "_children",
        "_duration",
        "_host",
        "_requests",
        "errors",
        "in_flight",
        "latencies",
        "name",
        "rejected",
        "requests",
    )

    def __init__(self, samples: int, host: HostMetrics, name: str) -> None:
        self.name = name
        self.requests = 0
        self.errors = 0
        self.in_flight = 0
        self.rejected: dict[str, int] = {}
        self.latencies: deque[float] = deque(maxlen=samples)
        self._host = host
        self._children: dict[str, Any] = {}
        self._requests: Any = None
        self._duration: Any = None

    def _child(self, key: str, family: MetricWrapperBase, *labels: str) -> Any:
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(self.name, *labels)
        return child

    def _in_flight_now(self) -> float:
        return float(self.in_flight)

    def enter(self) -> None:
        """A request entered the extension's route."""
        self.in_flight += 1
        if "in_flight" not in self._children:
            self._child("in_flight", self._host.in_flight).set_function(self._in_flight_now)

    def leave(self, seconds: float, status: int) -> None:
        """A request left the extension's route after ``seconds`` with ``status``."""
        self.in_flight -= 1
        self.observe(seconds, status)

    def observe(self, seconds: float, status: int) -> None:
        self.requests += 1
        self.latencies.append(seconds)
        if self._requests is None:
            self._requests = self._child("requests", self._host.requests)
            self._duration = self._child("duration", self._host.duration)
        self._requests.inc()
        self._duration.observe(seconds)
        if status >= 500:
            self.errors += 1
            self._child("errors", self._host.errors).inc()

    def reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1
        self._child("rejected:" + reason, self._host.rejections, reason).inc()

    def failure(self) -> None:
        """A failure counted against the extension (handler, middleware, hook, timeout)."""
        self._child("failures", self._host.hook_failures).inc()

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
        self.requests = self._family(
            Counter, "dufflebag_extension_requests", "Requests served by an extension's routes.")
        self.errors = self._family(
            Counter, "dufflebag_extension_errors",
            "Requests to an extension's routes that ended in a 5xx answer.")
        self.rejections = self._family(
            Counter, "dufflebag_extension_rejections",
            "Requests refused by a quota (rate_limit, concurrency) or cut (timeout).", "reason")
        self.duration = self._family(
            Histogram, "dufflebag_extension_request_duration_seconds",
            "Time spent in an extension's route, middleware included.")
        self.in_flight = self._family(
            Gauge, "dufflebag_extension_in_flight",
            "Requests currently inside an extension's route.")
        self.hook_failures = self._family(
            Counter, "dufflebag_extension_failures",
            "Failures counted against an extension (handler, middleware, hook, timeout).")

    def _family(self, kind: type[_F], name: str, documentation: str, *labels: str) -> _F:
        """A metric family labelled by ``extension`` (then ``labels``) on this host's registry."""
        return kind(name, documentation, ["extension", *labels], registry=self.registry)

    def for_extension(self, name: str) -> ExtensionStats:
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = ExtensionStats(self._samples, self, name)
        return stats

    def observe(self, name: str, seconds: float, status: int) -> None:
        self.for_extension(name).observe(seconds, status)

    def reject(self, name: str, reason: str) -> None:
        self.for_extension(name).reject(reason)
