"""How long a certification takes, as ratios to what this machine needs to start pytest.

Run from the repository root: ``python -m tests.bench.bench_certify [ROUNDS]`` (``nox -s
bench`` runs it). In one process on one machine it measures, ``ROUNDS`` times each:

* ``python -m pytest --version``, the start-up every author pays anyway (the baseline);
* the quick and the full profile of ``sample_extensions/analytics`` (checks on the
  default number of lanes), and the full profile on one lane, for what parallelism buys;
* the full profile of the ``sync_sleep`` rogue, whose handler blocks the event loop: it
  must end failed, quickly, with the load and performance checks skipped as blocked.

It prints every wall time, the medians, and each median divided by the baseline's, so
figures from two machines can be compared by their ratios. Timed checks run alone in
every configuration; the machine should otherwise be idle.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dufflebag_harness.outside.runner import CertifyOptions, certify

ROOT = Path(__file__).resolve().parents[2]
ANALYTICS = ROOT / "sample_extensions" / "analytics"
BLOCKING = ROOT / "sample_extensions" / "rogues" / "sync_sleep"


def _pytest_start() -> float:
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-m", "pytest", "--version"], capture_output=True,
                   check=True, cwd=ROOT)
    return time.monotonic() - t0


def _certify(path: Path, profile: str, out: Path, jobs: int | None) -> tuple[float, str, int]:
    t0 = time.monotonic()
    outcome = certify(CertifyOptions(path=path, out=out, profile=profile, seed=11, jobs=jobs))
    blocked = sum(1 for r in outcome.report["results"]
                  if r["status"] == "skipped" and r["reason"].startswith("blocked by FI-06"))
    return time.monotonic() - t0, outcome.level, blocked


def main(argv: list[str]) -> int:
    rounds = int(argv[0]) if argv else 2
    scratch = Path(tempfile.mkdtemp(prefix="dbbc", dir="/tmp"))
    os.environ["DUFFLEBAG_GNUPGHOME"] = str(scratch / "g")
    os.environ.pop("DUFFLEBAG_SIGNING_KEY", None)
    runs = {
        "analytics quick": (ANALYTICS, "quick", None),
        "analytics full": (ANALYTICS, "full", None),
        "analytics full, one lane": (ANALYTICS, "full", 1),
        "sync_sleep full (blocks the loop)": (BLOCKING, "full", None),
    }
    times: dict[str, list[float]] = {"pytest --version": []}
    try:
        for i in range(rounds):
            took = _pytest_start()
            times["pytest --version"].append(took)
            print(f"round {i + 1}: pytest --version {took:.2f} s", flush=True)
            for name, (path, profile, jobs) in runs.items():
                took, level, blocked = _certify(path, profile, scratch / f"{i}-{len(times)}",
                                                jobs)
                times.setdefault(name, []).append(took)
                extra = f", {blocked} skipped as blocked by FI-06" if blocked else ""
                print(f"round {i + 1}: {name} {took:.1f} s ({level}{extra})", flush=True)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(scratch / "g"), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    base = statistics.median(times["pytest --version"])
    print(f"\nmedians over {rounds} round(s); ratio = median / pytest --version ({base:.2f} s)")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:38} {median:7.1f} s   ratio {median / base:7.1f}")
    one, two = (statistics.median(times[k]) for k in ("analytics full, one lane",
                                                        "analytics full"))
    print(f"  full profile, one lane / default lanes: {one / two:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
