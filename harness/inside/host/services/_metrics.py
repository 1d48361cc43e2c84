"""Metrics service: Prometheus families on the host's registry, labelled ``extension``.

Family names are ``dufflebag_ext_<extension>_<name>`` so two extensions using
the same metric name never collide; a name reused with another kind or other
labels is refused with a clear error.
"""

from __future__ import annotations

import re
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["ExtensionMetrics"]

_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]{0,63}$")


class ExtensionMetrics:
    """Implements :class:`dufflebag_harness.sdk.MetricsService` for one extension."""

    def __init__(self, extension: str, registry: CollectorRegistry) -> None:
        self._extension = extension
        self._registry = registry
        self._families: dict[str, tuple[str, tuple[str, ...], Any]] = {}

    def _family(self, kind: str, name: str, labels: dict[str, str]) -> Any:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"metric name {name!r} must match {_NAME.pattern}")
        keys = tuple(sorted(labels))
        for key in keys:
            if not _NAME.match(key) or key == "extension":
                raise ValueError(f"metric {name!r}: label {key!r} is not allowed")
        known = self._families.get(name)
        if known is not None:
            if known[0] != kind or known[1] != keys:
                raise ValueError(
                    f"metric {name!r} is a {known[0]} with labels {list(known[1])}; "
                    f"cannot use it as a {kind} with labels {list(keys)}"
                )
            return known[2]
        full = f"dufflebag_ext_{self._extension}_{name}"
        cls = {"counter": Counter, "histogram": Histogram, "gauge": Gauge}[kind]
        family = cls(full, f"{name} of extension {self._extension}",
                     ["extension", *keys], registry=self._registry)
        self._families[name] = (kind, keys, family)
        return family

    def _child(self, kind: str, name: str, labels: dict[str, str]) -> Any:
        family = self._family(kind, name, labels)
        return family.labels(self._extension, *(str(labels[k]) for k in sorted(labels)))

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        self._child("counter", name, labels).inc(value)

    def observe(self, name: str, value: float, **labels: str) -> None:
        self._child("histogram", name, labels).observe(value)

    def gauge(self, name: str, value: float, **labels: str) -> None:
        self._child("gauge", name, labels).set(value)
