"""A worker killed mid-run never yields a certified report."""

from __future__ import annotations

from pathlib import Path

from _cli import write_extension

from dufflebag_harness.conformance import load_checks
from dufflebag_harness.outside.runner import CertifyOptions, certify

KILLER = """
    import os, signal
    from dufflebag_harness.sdk import Extension, Metadata

    class Ext(Extension):
        metadata = Metadata(name="killer", version="1.0.0", host_api=">=1.0,<2",
                            description="test extension", license="MIT")

        async def initialize(self, services):
            os.kill(os.getpid(), signal.SIGKILL)
"""


def test_worker_killed_mid_run_is_never_certified(tmp_path: Path) -> None:
    ext = write_extension(tmp_path, "killer", KILLER)
    outcome = certify(CertifyOptions(path=ext, out=tmp_path / "out", seed=3))
    statuses = {f"{r['check']}@{r['backend']}": r["status"] for r in outcome.report["results"]}
    assert outcome.level == "failed"
    assert outcome.exit_code == 1
    assert statuses["LC-03@sqlite"] == "error"
    # everything that needs a loaded extension is blocked (skipped), never passed;
    # static checks (manifest, source scans) may still pass on their own
    registry = load_checks()
    gated = {pair: status for pair, status in statuses.items()
             if "LC-03" in registry[pair.split("@")[0]].blocked_by}
    assert gated and "pass" not in gated.values(), gated
