"""Measure start and stop of an ephemeral cluster: ``python -m tests.postgres.bench_cluster [N]``.

Not collected by pytest (the name does not start with ``test_``). Prints the
median and range of each phase over N rounds (default 5) and, with
``--json``, the raw samples.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import psycopg

from dufflebag_harness.outside.postgres._cluster import start_cluster


def _round() -> dict[str, float]:
    t0 = time.perf_counter()
    server = start_cluster()
    t1 = time.perf_counter()
    with psycopg.connect(server.admin_dsn) as conn:
        conn.execute("SELECT 1")
    t2 = time.perf_counter()
    server.close()
    t3 = time.perf_counter()
    return {"start_s": t1 - t0, "first_connect_s": t2 - t1, "stop_s": t3 - t2, "total_s": t3 - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rounds", type=int, nargs="?", default=5)
    parser.add_argument("--json", action="store_true", help="print raw samples as JSON")
    args = parser.parse_args()
    samples = [_round() for _ in range(args.rounds)]
    if args.json:
        print(json.dumps(samples, indent=2))
        return
    for key in samples[0]:
        values = [s[key] for s in samples]
        print(
            f"{key:>16}: median {statistics.median(values) * 1000:7.1f} ms  "
            f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f}, n={len(values)})"
        )


if __name__ == "__main__":
    main()
