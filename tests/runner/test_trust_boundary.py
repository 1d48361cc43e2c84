"""The signing process never imports extension code (ARCHITECTURE.md, "Trust boundary")."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _cli import write_extension

from dufflebag_harness.outside.runner import CertifyOptions, certify

MARKER = """
    from dufflebag_harness.sdk import Extension, JSONResponse, Metadata

    async def ping(request):
        return JSONResponse({"pong": True})

    class Ext(Extension):
        metadata = Metadata(name="boundary_probe", version="1.0.0", host_api=">=1.0,<2",
                            description="test extension", license="MIT")

        def register_routes(self, router):
            router.get("/ping", ping)
"""


@pytest.mark.slow
def test_certify_imports_nothing_from_the_extension(tmp_path: Path) -> None:
    ext = write_extension(tmp_path, "boundary_probe", MARKER)
    before = set(sys.modules)
    outcome = certify(CertifyOptions(path=ext, out=tmp_path / "out", seed=5))
    statuses = {r["check"]: r["status"] for r in outcome.report["results"]}
    assert statuses["RT-01"] == "pass" and statuses["LC-03"] == "pass", statuses
    new = set(sys.modules) - before
    assert "boundary_probe" not in sys.modules
    leaked = [name for name in new
              if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path))]
    assert leaked == []
    companions = [n for n in sys.modules if n.startswith("companion")]
    assert companions == []
