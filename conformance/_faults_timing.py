"""Timing from the parent: how long a neighbour waits while a request is in flight.

The FI checks about hangs and event-loop blocking judge from outside the
worker: one thread sends the request under test, the caller meanwhile pings
a companion extension on its own connection, and every ping that *started*
while the request was in flight is timed. A neighbour kept waiting is what
a blocked loop (or a global lock held across a hang) looks like to users.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from dufflebag_harness.conformance._loopback import loopback_client
from dufflebag_harness.conformance._routes import Call
from dufflebag_harness.conformance._types import HostHandle

__all__ = ["Overlap", "overlapped"]

#: Pause between pings, so the pings measure the loop rather than load it.
PING_GAP_S = 0.01


@dataclass
class Overlap:
    """The request under test and the pings that ran beside it."""

    request: str
    status: int = 0
    elapsed_s: float = 0.0
    error: str = ""
    pings: list[tuple[float, int]] = field(default_factory=list)

    @property
    def worst_ping_s(self) -> float:
        return max((p[0] for p in self.pings), default=0.0)

    @property
    def failed_pings(self) -> int:
        return sum(1 for _, status in self.pings if status != 200)

    def evidence(self) -> dict[str, Any]:
        return {"request": self.request, "status": self.status,
                "elapsed_ms": round(self.elapsed_s * 1000, 1), "error": self.error,
                "pings": len(self.pings), "worst_ping_ms": round(self.worst_ping_s * 1000, 1),
                "failed_pings": self.failed_pings}


def overlapped(host: HostHandle, call: Call, ping_path: str, *, timeout_s: float) -> Overlap:
    """Send ``call`` in a thread; ping ``ping_path`` until it is answered."""
    out = Overlap(request=call.label)

    def send() -> None:
        started = time.perf_counter()
        try:
            out.status = call.send(host, timeout=timeout_s).status_code
        except httpx.HTTPError as exc:
            out.error = f"{type(exc).__name__}: {exc}"
        out.elapsed_s = time.perf_counter() - started

    worker = threading.Thread(target=send, name="fi-request-under-test", daemon=True)
    with loopback_client(host.base_url, timeout=timeout_s) as client:
        worker.start()
        while worker.is_alive():
            started = time.perf_counter()
            try:
                status = client.get(ping_path).status_code
            except httpx.HTTPError:
                status = 0
            out.pings.append((time.perf_counter() - started, status))
            worker.join(PING_GAP_S)
    worker.join()
    return out
