"""The worker's resident memory after garbage collection, sampled through a load run.

The worker collects garbage and names its pid (probe ``perf.memory``); the
parent then reads the resident set of that pid itself with psutil, after
checking the pid is its own child, so the figure the verdict uses is not the
extension's word. Where that check fails (a pid that is not ours), the
worker's own figure is used and the sample says so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import psutil

from dufflebag_harness.conformance._types import CheckContext


@dataclass(frozen=True)
class MemorySample:
    """One post-gc reading. ``at_s``: seconds since the load started (negative: before)."""

    at_s: float
    rss_mb: float
    source: str  # "parent" (psutil on our child's pid) or "worker" (self-reported)
    allocated_blocks: int


def parent_rss_mb(pid: int) -> float | None:
    """RSS of ``pid`` as this process sees it, only if it is our direct child."""
    try:
        proc = psutil.Process(pid)
        if proc.ppid() != os.getpid():
            return None
        return float(proc.memory_info().rss) / (1024 * 1024)
    except psutil.Error:
        return None


@dataclass
class MemoryWatch:
    """Post-gc samples of the worker, taken before, during and after a load run."""

    ctx: CheckContext
    samples: list[MemorySample] = field(default_factory=list)
    duration_s: float = 0.0

    def sample(self, at_s: float | None = None) -> MemorySample:
        out = self.ctx.probe("perf.memory")
        rss = parent_rss_mb(int(out["pid"]))
        source = "parent"
        if rss is None:
            rss, source = float(out.get("rss_kb") or 0) / 1024, "worker"
        if at_s is None:
            at_s = -1.0 if not self.samples else max(self.duration_s, self.samples[-1].at_s) + 0.001
        item = MemorySample(round(at_s, 3), round(rss, 2), source,
                            int(out.get("allocated_blocks") or 0))
        self.samples.append(item)
        return item

    def tick(self, elapsed_s: float, duration_s: float) -> None:
        """Called by the load runner while load runs (``elapsed_s`` since it started)."""
        self.duration_s = duration_s
        self.sample(elapsed_s)

    def window(self, warmup_share: float) -> list[MemorySample]:
        """Samples after the warm-up share of the load, in time order."""
        start = warmup_share * self.duration_s
        return [s for s in self.samples if s.at_s >= start]

    def figure(self) -> dict[str, Any]:
        return {
            "samples": [{"at_s": s.at_s, "rss_mb": s.rss_mb, "blocks": s.allocated_blocks}
                        for s in self.samples],
            "rss_source": sorted({s.source for s in self.samples}),
        }


__all__ = ["MemorySample", "MemoryWatch", "parent_rss_mb"]
