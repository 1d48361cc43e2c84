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


def test_sign_imports_nothing_from_the_extension(tmp_path: Path) -> None:
    """The job with the key signs a bundle made elsewhere; it reads the artifact as bytes."""
    from _cli import run_cli
    from click.testing import CliRunner

    from dufflebag_harness.outside.cli import cli

    ext = write_extension(tmp_path, "boundary_probe", MARKER)
    bundle = tmp_path / "bundle"
    made = run_cli("certify", str(ext), "--out", str(bundle), "--unsigned", "--profile",
                   "quick", "--only", "LC-01,RT-01")
    assert made.returncode == 3, made.stdout + made.stderr
    before = set(sys.modules)
    result = CliRunner().invoke(cli, ["sign", str(bundle), "--artifact", str(ext)])
    assert result.exit_code == 0, result.output
    assert (bundle / "report.json.asc").is_file()
    new = set(sys.modules) - before
    assert "boundary_probe" not in sys.modules
    leaked = [name for name in new
              if str(getattr(sys.modules[name], "__file__", "") or "").startswith(str(tmp_path))]
    assert leaked == []
    assert [n for n in sys.modules if n.startswith("companion")] == []


def test_the_sign_command_loads_neither_the_runner_nor_the_checks(tmp_path: Path) -> None:
    """``dufflebag-cert sign`` in a process of its own: only the reports, the loader's
    digest and the CLI (the runner and the checks are imported by ``certify`` alone)."""
    import subprocess

    code = ("import sys\n"
            "from dufflebag_harness.outside.cli import main\n"
            "try:\n"
            "    main(['sign', sys.argv[1], '--artifact', sys.argv[1]])\n"
            "except SystemExit:\n"
            "    pass\n"
            "bad = ('dufflebag_harness.outside.runner', 'dufflebag_harness.conformance',\n"
            "       'dufflebag_harness.inside', 'dufflebag_harness.outside.worker_client',\n"
            "       'dufflebag_harness.outside.postgres')\n"
            "print(sorted(m for m in sys.modules if m.startswith(bad)))\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                          text=True, check=False, timeout=120)
    assert "report.json: no such file" in done.stderr
    assert done.stdout.strip() == "[]", done.stdout
