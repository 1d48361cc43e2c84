"""What the sandbox costs a certification: the same run with and without it.

Run from the repository root: ``python -m tests.bench.bench_sandbox [PROFILE] [ROUNDS]``
(``nox -s bench`` runs it with the quick profile). Rounds alternate sandboxed and
unsandboxed runs of ``sample_extensions/analytics`` in one process on one machine, so
the ratio compares like with like; it prints each wall time, the medians and their
ratio. Without a sandbox the run signs with a development key only, as the harness
requires; both use a throwaway signing home.
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


def _one(profile: str, sandbox: bool, out: Path) -> tuple[float, str]:
    t0 = time.monotonic()
    outcome = certify(CertifyOptions(path=ANALYTICS, out=out, profile=profile, seed=11,
                                     sandbox=sandbox))
    return time.monotonic() - t0, outcome.level


def main(argv: list[str]) -> int:
    profile = argv[0] if argv else "quick"
    rounds = int(argv[1]) if len(argv) > 1 else 2
    scratch = Path(tempfile.mkdtemp(prefix="dbbs", dir="/tmp"))
    os.environ["DUFFLEBAG_GNUPGHOME"] = str(scratch / "g")
    os.environ.pop("DUFFLEBAG_SIGNING_KEY", None)
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for i in range(rounds):
            for sandbox in (True, False) if i % 2 == 0 else (False, True):
                took, level = _one(profile, sandbox, scratch / f"out-{i}-{sandbox}")
                times[sandbox].append(took)
                print(f"round {i + 1}: {'sandboxed' if sandbox else 'unsandboxed'} "
                      f"{took:.1f} s ({level})", flush=True)
    finally:
        subprocess.run(["gpgconf", "--homedir", str(scratch / "g"), "--kill", "all"],
                       capture_output=True, check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    with_, without = statistics.median(times[True]), statistics.median(times[False])
    print(f"profile {profile}: median sandboxed {with_:.1f} s, unsandboxed {without:.1f} s, "
          f"ratio {with_ / without:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
