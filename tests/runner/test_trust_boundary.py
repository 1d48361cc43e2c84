"""The signing process never imports extension code (ARCHITECTURE.md, "Trust boundary")."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _cli import write_extension

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


def _imported_from(folder: Path, names: set[str]) -> list[str]:
    return [name for name in names
            if str(getattr(sys.modules.get(name), "__file__", "") or "").startswith(str(folder))]


@pytest.mark.slow  # a full certification
def test_a_new_extension_certifies_and_the_certifying_process_imports_none_of_it(
        tmp_path: Path) -> None:
    """From ``new`` to a signed, certified report, the way an author starts; the
    ``certify`` command runs in this process, so what it imported can be looked at."""
    from _cli import assert_certified, run_cli
    from click.testing import CliRunner

    from dufflebag_harness.outside.cli import cli

    assert run_cli("new", "first_ext", cwd=tmp_path).returncode == 0
    ext, out = tmp_path / "first_ext", tmp_path / "report"
    before = set(sys.modules)
    result = CliRunner().invoke(cli, ["certify", str(ext), "--out", str(out), "--plain"])
    new = set(sys.modules) - before
    assert_certified(result.exit_code, json.loads((out / "report.json").read_text()),
                     result.output)
    assert (out / "report.json.asc").is_file()
    assert "first_ext" not in sys.modules
    assert _imported_from(ext, new) == []
    assert [n for n in sys.modules if n.startswith("companion")] == []


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
    assert _imported_from(tmp_path, new) == []
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
