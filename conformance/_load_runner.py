"""Drive the locust subprocess against a host and read its statistics (parent side).

Each target is first requested once, alone: the status it answers then is the
status it must answer under load (a GET of ``/items/1`` may well be a 404;
under load it must stay a 404, not become a 500 or a 200 of someone else's).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dufflebag_harness.conformance._perf_client import Target
from dufflebag_harness.conformance._types import CheckFailed, HostHandle

SCRIPT = Path(__file__).with_name("_load_locust.py")
#: Seconds the generator may take beyond the load duration (start-up, join) before it is killed.
GRACE_S = 60.0
#: Largest statistics line accepted from the generator.
MAX_OUTPUT_BYTES = 1 << 20
#: Relative weight of the extension's own routes against the platform's in the mix.
OWN_WEIGHT = 2


class LoadError(Exception):
    """The load generator itself failed (a harness or environment problem, not a verdict)."""


@dataclass(frozen=True)
class LoadTarget:
    target: Target
    expect: tuple[int, ...]
    weight: int = 1


def load_targets(own: Sequence[Target], *shared: Target) -> list[tuple[Target, int]]:
    """The request mix: the extension's own GET routes weigh more than the shared ones."""
    return [(t, OWN_WEIGHT) for t in own] + [(t, 1) for t in shared]


def preflight(host: HostHandle, mix: Sequence[tuple[Target, int]]) -> list[LoadTarget]:
    """Request each target once; its answer then is what load must not change."""
    out = []
    for target, weight in mix:
        status = host.request(target.method, target.path, as_role=target.role).status_code
        if status >= 500:
            raise CheckFailed(f"{target.label} answers {status} even without load",
                              {"request": target.label, "status": status})
        out.append(LoadTarget(target, (status,), weight))
    return out


@dataclass
class LoadResult:
    """What the generator measured. Percentiles are whole milliseconds (locust rounds)."""

    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return int(self.raw.get("total", {}).get("requests", 0))

    @property
    def failures(self) -> int:
        return int(self.raw.get("total", {}).get("failures", 0))

    def first_error(self) -> str:
        errors = self.raw.get("errors") or []
        if not errors:
            return "no error detail"
        e = errors[0]
        return f"{e['request']}: {e['error']} ({e['occurrences']}x)"

    def figure(self) -> dict[str, Any]:
        total = self.raw.get("total", {})
        return {
            "users": self.raw.get("users"),
            "duration_s": self.raw.get("elapsed_s"),
            "requests": self.requests,
            "failures": self.failures,
            "rps": total.get("rps"),
            "p50_ms": total.get("p50_ms"),
            "p95_ms": total.get("p95_ms"),
            "p99_ms": total.get("p99_ms"),
            "per_request": self.raw.get("per_target", {}),
            "errors": self.raw.get("errors", [])[:5],
            "generator": "locust (integer-ms percentiles)",
        }


def _spec(host: HostHandle, targets: Sequence[LoadTarget], users: int,
          duration_s: float) -> dict[str, Any]:
    return {
        "base_url": host.base_url,
        "users": users,
        "duration_s": duration_s,
        "targets": [
            {"label": t.target.label, "method": t.target.method, "path": t.target.path,
             "headers": ({"Authorization": f"Bearer {host.tokens[t.target.role]}"}
                         if t.target.role else {}),
             "expect": list(t.expect), "weight": t.weight}
            for t in targets
        ],
    }


class _Lines(threading.Thread):
    """Reads the generator's stdout: the ``started`` line, then the statistics line."""

    def __init__(self, stream: Any) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.started = threading.Event()
        self.result: str | None = None
        self.too_long = False

    def run(self) -> None:
        for raw in iter(lambda: self.stream.readline(MAX_OUTPUT_BYTES + 1), b""):
            if len(raw) > MAX_OUTPUT_BYTES:
                self.too_long = True
                return
            line = raw.decode("utf-8", "replace").strip()
            if line == "started":
                self.started.set()
            elif line.startswith("{"):
                self.result = line


def run_load(
    host: HostHandle,
    targets: Sequence[LoadTarget],
    *,
    users: int,
    duration_s: float,
    on_tick: Callable[[float, float], None] | None = None,
    tick_s: float = 0.5,
) -> LoadResult:
    """Run ``users`` concurrent users for ``duration_s`` against ``host``.

    ``on_tick(elapsed, duration)`` is called every ``tick_s`` while load runs
    (e.g. to sample memory). Raises :class:`LoadError` when the generator fails.
    """
    if not targets:
        raise ValueError("run_load: no targets")
    with tempfile.TemporaryDirectory(prefix="dbh-load-") as tmp, \
            open(Path(tmp) / "stderr.log", "w+b") as err:
        proc = subprocess.Popen(
            [sys.executable, "-I", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=err, cwd=tmp, start_new_session=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
                 "HOME": tmp},
        )
        try:
            return _drive(proc, err, _spec(host, targets, users, duration_s), duration_s,
                          on_tick, tick_s)
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()


def _drive(
    proc: subprocess.Popen[bytes], err: Any, spec: dict[str, Any], duration_s: float,
    on_tick: Callable[[float, float], None] | None, tick_s: float,
) -> LoadResult:
    assert proc.stdin is not None and proc.stdout is not None
    lines = _Lines(proc.stdout)
    lines.start()
    proc.stdin.write(json.dumps(spec).encode())
    proc.stdin.close()
    deadline = time.monotonic() + duration_s + GRACE_S
    began: float | None = None
    next_tick = tick_s
    while proc.poll() is None:
        now = time.monotonic()
        if now > deadline:
            limit = duration_s + GRACE_S
            raise LoadError(f"the load generator did not finish within {limit:.0f} s")
        if began is None and lines.started.is_set():
            began = now
        if began is not None and on_tick is not None:
            elapsed = now - began
            if next_tick <= elapsed < duration_s:
                on_tick(elapsed, duration_s)
                next_tick += tick_s
        time.sleep(0.02)
    lines.join(timeout=10)
    if lines.result is None:
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
        reason = "too long an answer" if lines.too_long else f"exit code {proc.returncode}"
        raise LoadError(f"the load generator gave no statistics ({reason}): {tail}")
    return LoadResult(json.loads(lines.result))


__all__ = ["LoadError", "LoadResult", "LoadTarget", "load_targets", "preflight", "run_load"]
