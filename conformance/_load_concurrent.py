"""Concurrent traffic across many extensions, and how each answer is judged.

Every companion copy answers with its own name, echoes the value it stored and
stamps ``x-<name>: 1`` on its own paths, so an answer that crossed from one
extension (or one request) to another is visible. The extension's own GET
routes are judged against what they answered alone: the same status and the
same shape (JSON keys), and no other extension's stamp.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dufflebag_harness.conformance._perf_client import Target, TimedClient
from dufflebag_harness.conformance._types import HostHandle

#: What the host answers for a route of a disabled extension (and no route at all).
HOST_NOT_FOUND = {"error": "not found"}
#: Problems kept as evidence (the count is always reported).
MAX_PROBLEMS = 20


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


#: A response's status and top-level JSON keys (or the kind of body it had instead).
Shape = tuple[int, tuple[str, ...] | str]


def shape(status: int, body: bytes) -> Shape:
    """Status and the top-level JSON keys (or ``"non-json"``): what must not change."""
    data = _json(body)
    if isinstance(data, dict):
        return status, tuple(sorted(data))
    return status, "non-json" if data is None else type(data).__name__


def stamps(headers: Any, names: Collection[str]) -> set[str]:
    """Which of ``names`` stamped the response (``x-<name>`` header present)."""
    present = {str(k).lower() for k in headers}
    return {n for n in names if f"x-{n}" in present}


@dataclass
class Tally:
    """Problems found by many threads, and how many requests were judged."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: str, detail: str, **extra: Any) -> None:
        with self.lock:
            self.count += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append({"request": request, "problem": detail, **extra})

    def served(self, n: int = 1) -> None:
        with self.lock:
            self.requests += n


@dataclass(frozen=True)
class Traffic:
    """What to send and how to judge it, on one host."""

    host: HostHandle
    companions: Sequence[str]
    own: Sequence[Target]
    baseline: Mapping[str, Shape]
    #: Extensions that may be disabled while traffic runs (their 404 is then expected).
    toggled: frozenset[str] = frozenset()

    def _disabled_answer(self, name: str, status: int, body: bytes) -> bool:
        return name in self.toggled and status == 404 and _json(body) == HOST_NOT_FOUND

    def item_roundtrip(self, client: TimedClient, name: str, tally: Tally) -> None:
        """POST an item to companion ``name`` and read it back: its own name, its own value."""
        value = {"token": secrets.token_hex(8), "owner": name}
        path = f"/ext/{name}/items"
        status, _, body, headers = client.send(
            "POST", path, "user", {"Content-Type": "application/json"},
            json.dumps({"value": value}).encode())
        tally.served()
        if self._disabled_answer(name, status, body):
            return
        created = _json(body)
        if status >= 500:
            tally.add(f"POST {path}", f"server error {status}", body=body[:200].decode("latin-1"))
            return
        if status != 201 or not isinstance(created, dict) or created.get("extension") != name:
            tally.add(f"POST {path}", f"answered {status} {body[:200]!r}, not its own 201")
            return
        self._check_stamp(f"POST {path}", name, headers, tally)
        item = f"{path}/{created.get('id')}"
        status, _, body, headers = client.send("GET", item, "user")
        tally.served()
        if self._disabled_answer(name, status, body):
            return
        want = {"extension": name, "id": created.get("id"), "value": value}
        got = _json(body)
        if status >= 500:
            tally.add(f"GET {item}", f"server error {status}", body=body[:200].decode("latin-1"))
        elif status != 200 or got != want:
            tally.add(f"GET {item}", "answered another item or extension",
                      status=status, expected=want, got=body[:300].decode("latin-1"))
        else:
            self._check_stamp(f"GET {item}", name, headers, tally)

    def _check_stamp(self, request: str, name: str, headers: Any, tally: Tally) -> None:
        seen = stamps(headers, self.companions)
        if seen != {name}:
            tally.add(request, f"carries the stamps of {sorted(seen)}, expected only {name}")

    def own_request(self, client: TimedClient, target: Target, name: str, tally: Tally) -> None:
        """One of the extension's own GET routes: the answer it gives when alone."""
        status, _, body, headers = client.send(target.method, target.path, target.role)
        tally.served()
        if self._disabled_answer(name, status, body):
            return
        got = shape(status, body)
        if status >= 500:
            tally.add(target.label, f"server error {status}", body=body[:200].decode("latin-1"))
        elif got != self.baseline[target.label]:
            tally.add(target.label, "answered differently than when alone",
                      alone=list(self.baseline[target.label]), concurrent=list(got),
                      body=body[:200].decode("latin-1"))
        elif foreign := stamps(headers, self.companions):
            tally.add(target.label, f"carries other extensions' stamps {sorted(foreign)}")


def baseline(host: HostHandle, own: Sequence[Target]) -> dict[str, Shape]:
    """Each own route's answer when nothing else runs."""
    client = TimedClient(host)
    try:
        out = {}
        for t in own:
            status, _, body, _ = client.send(t.method, t.path, t.role)
            out[t.label] = shape(status, body)
        return out
    finally:
        client.close()


Task = Callable[[TimedClient, Tally], None]


def run_threads(host: HostHandle, tasks: Sequence[Task], threads: int, tally: Tally,
                stop: threading.Event | None = None) -> list[threading.Thread]:
    """Run ``tasks`` on ``threads`` threads (each with its own keep-alive connection).

    Without ``stop`` each thread takes the next task until none is left; with it,
    threads cycle through the tasks until ``stop`` is set. Returns the started
    (daemon) threads: :func:`join_all` waits for them with a deadline.
    """
    lock = threading.Lock()
    position = [0]

    def next_task() -> Task | None:
        with lock:
            i = position[0]
            position[0] += 1
        if stop is None:
            return tasks[i] if i < len(tasks) else None
        return None if stop.is_set() else tasks[i % len(tasks)]

    def work() -> None:
        client = TimedClient(host)
        try:
            while (task := next_task()) is not None:
                try:
                    task(client, tally)
                except OSError as exc:
                    tally.add("connection", f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    pool = [threading.Thread(target=work, daemon=True, name=f"cc-{i}") for i in range(threads)]
    for t in pool:
        t.start()
    return pool


def join_all(pool: Sequence[threading.Thread], deadline: float) -> list[str]:
    """Join ``pool`` by the monotonic ``deadline``; names of threads still running."""
    for t in pool:
        t.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in pool if t.is_alive()]


__all__ = ["HOST_NOT_FOUND", "Shape", "Tally", "Task", "Traffic", "baseline", "join_all",
           "run_threads", "shape", "stamps"]
