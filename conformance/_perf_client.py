"""A lean keep-alive HTTP client for latency samples, and the alternating measurement.

``http.client`` rather than httpx: the client's own cost lands in every sample
on both sides of the comparison, and the smaller and steadier it is, the less
noise the difference carries (httpx adds ~100 µs of Python per request).
One connection per host, reused (keep-alive), so connection set-up is not
measured either.

Delayed acknowledgements: a server that writes headers and body separately
without ``TCP_NODELAY`` holds the body until the client acknowledges the
headers, and Linux delays that acknowledgement by up to 40 ms. That stall is
the transport's, not the extension's, and it swamps a 5 ms budget, so the
client asks for an immediate acknowledgement (``TCP_QUICKACK``) once each
request is sent (the kernel resets the flag, hence every time).
"""

from __future__ import annotations

import gc
import http.client
import socket
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dufflebag_harness.conformance._types import CheckFailed, HostHandle

_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


def _ack_at_once(sock: socket.socket | None) -> None:
    if _QUICKACK is not None and sock is not None:
        with suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)


@dataclass(frozen=True)
class Target:
    """One request to time: ``role`` picks the seeded user's token on each host."""

    label: str
    method: str
    path: str
    role: str | None = None


class TimedClient:
    """One keep-alive connection to a host; :meth:`send` returns status and duration."""

    def __init__(self, host: HostHandle, timeout_s: float = 20.0) -> None:
        parts = urlsplit(host.base_url)
        self._host = host
        self._conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout_s
        )

    def headers(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        return {"Authorization": f"Bearer {self._host.tokens[role]}"}

    def send(
        self, method: str, path: str, role: str | None = None,
        headers: Mapping[str, str] | None = None, body: bytes | None = None,
    ) -> tuple[int, int, bytes, http.client.HTTPMessage]:
        """(status, nanoseconds, body, response headers); one retry on a dropped connection."""
        all_headers = {**self.headers(role), **dict(headers or {})}
        for attempt in (1, 2):
            try:
                started = time.perf_counter_ns()
                self._conn.request(method, path, body=body, headers=all_headers)
                _ack_at_once(self._conn.sock)
                response = self._conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter_ns() - started
                return response.status, elapsed, data, response.msg
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._conn.close()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No collection in this process while timing (its pauses would land in samples)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Alternation:
    """Raw samples (ns) per target label, for host A and host B, and statuses seen."""

    a: dict[str, list[int]] = field(default_factory=dict)
    b: dict[str, list[int]] = field(default_factory=dict)
    statuses: dict[str, set[tuple[int, int]]] = field(default_factory=dict)


def alternate(
    a: TimedClient, b: TimedClient, targets: Sequence[tuple[Target, Target]], pairs: int
) -> Alternation:
    """``pairs`` requests per target pair on each host, interleaved A/B then B/A.

    Interleaving puts both hosts under the same momentary machine load; swapping
    who goes first cancels any first-of-two effect. Targets alternate too.
    """
    out = Alternation()
    for ta, _ in targets:
        out.a[ta.label] = []
        out.b[ta.label] = []
        out.statuses[ta.label] = set()
    with gc_paused():
        for i in range(pairs):
            for ta, tb in targets:
                if i % 2 == 0:
                    sa, na, _, _ = a.send(ta.method, ta.path, ta.role)
                    sb, nb, _, _ = b.send(tb.method, tb.path, tb.role)
                else:
                    sb, nb, _, _ = b.send(tb.method, tb.path, tb.role)
                    sa, na, _, _ = a.send(ta.method, ta.path, ta.role)
                out.a[ta.label].append(na)
                out.b[ta.label].append(nb)
                out.statuses[ta.label].add((sa, sb))
    return out


def require_same_status(run: Alternation, a_name: str, b_name: str) -> None:
    """Refuse to compare latencies of requests that were not answered alike."""
    for label, seen in run.statuses.items():
        errors = sorted(s for s in seen if max(s) >= 500)
        if errors:
            raise CheckFailed(
                f"{label} answered a server error ({errors[0][0]} on the {a_name} host, "
                f"{errors[0][1]} on the {b_name} host) while being timed",
                {"request": label, "statuses": sorted(seen)},
            )
        differing = sorted(s for s in seen if s[0] != s[1])
        if differing:
            sa, sb = differing[0]
            raise CheckFailed(
                f"{label} answered {sa} on the {a_name} host and {sb} on the {b_name} host; "
                "latencies of different answers cannot be compared",
                {"request": label, "statuses": sorted(seen)},
            )


__all__ = ["Alternation", "Target", "TimedClient", "alternate", "gc_paused",
           "require_same_status"]
