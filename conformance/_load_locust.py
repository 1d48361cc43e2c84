"""The load generator, run as its own process: ``python -I _load_locust.py``.

locust monkeypatches the standard library (gevent) when it is imported, so it
never runs inside the signing process: the parent starts this script, writes a
JSON spec to its stdin (tokens travel there, not on the command line), and
reads two lines from its stdout: ``started`` once every user is spawned, then
one JSON object with the statistics. Nothing in the harness imports this
module; locust is imported inside :func:`main` only.

Spec: ``{"base_url", "users", "duration_s", "targets": [{"label", "method",
"path", "headers", "expect": [status, ...], "weight"}]}``. A response whose
status is not in ``expect`` (or no response) is a failure.
"""

from __future__ import annotations

import itertools
import json
import sys
import time
from typing import Any

#: Most error kinds reported back (each with its count).
MAX_ERRORS = 20


def _entry(stats: Any) -> dict[str, Any]:
    """Counts and integer-millisecond percentiles (locust rounds stored response times)."""
    done = stats.num_requests > 0
    return {
        "requests": int(stats.num_requests),
        "failures": int(stats.num_failures),
        "p50_ms": stats.get_response_time_percentile(0.5) if done else None,
        "p95_ms": stats.get_response_time_percentile(0.95) if done else None,
        "p99_ms": stats.get_response_time_percentile(0.99) if done else None,
        "avg_ms": round(float(stats.avg_response_time), 3),
        "rps": round(float(stats.total_rps), 1),
    }


def main() -> int:
    spec = json.loads(sys.stdin.read())
    import gevent
    from locust import constant, events, task
    from locust.contrib.fasthttp import FastHttpUser
    from locust.env import Environment

    targets: list[dict[str, Any]] = spec["targets"]
    order = [t for t in targets for _ in range(int(t.get("weight", 1)))]
    counter = itertools.count()

    class LoadUser(FastHttpUser):
        host = str(spec["base_url"])
        wait_time = constant(0)
        network_timeout = 15.0
        connection_timeout = 15.0

        def on_start(self) -> None:
            start = next(counter) % len(order)  # users start at different targets
            self._order = itertools.cycle(order[start:] + order[:start])

        @task
        def hit(self) -> None:
            t = next(self._order)
            with self.client.request(t["method"], t["path"], headers=dict(t["headers"]),
                                     name=t["label"], catch_response=True) as resp:
                if resp.status_code in t["expect"]:
                    resp.success()
                else:
                    resp.failure(f"HTTP {resp.status_code}, expected {t['expect']}")

    env = Environment(user_classes=[LoadUser], events=events)
    runner = env.create_local_runner()
    users = int(spec["users"])
    runner.start(users, spawn_rate=users * 4, wait=True)
    print("started", flush=True)
    started = time.monotonic()
    gevent.sleep(float(spec["duration_s"]))
    runner.quit()
    runner.greenlet.join()
    elapsed = time.monotonic() - started
    errors = sorted(env.stats.errors.values(), key=lambda e: -e.occurrences)[:MAX_ERRORS]
    out = {
        "elapsed_s": round(elapsed, 3),
        "users": users,
        "total": _entry(env.stats.total),
        "per_target": {name: _entry(entry) for (name, _m), entry in env.stats.entries.items()},
        "errors": [{"request": str(e.name), "error": str(e.error)[:300],
                    "occurrences": int(e.occurrences)} for e in errors],
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
