"""The extension's own tests run in a sandbox of their own, on a read-only copy.

Each property is proven by a test *of the extension* that passes only if the
property holds (so a broken sandbox fails this suite), or by what the parent finds
after the run.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import psutil

from dufflebag_harness.conformance._coverage_measure import parse_junit
from dufflebag_harness.outside.loader import load_manifest
from dufflebag_harness.outside.sandbox import SandboxStatus
from dufflebag_harness.outside.test_run import TestRunner

MANIFEST = """\
[extension]
name = "trdemo"
version = "1.0.0"
entry = "trdemo.extension:Demo"
description = "d"
author = "a"
license = "MIT"
homepage = "https://example.org"
host_api = ">=1.0,<2"

[tests]
paths = ["tests"]
source = ["trdemo"]
"""


def _extension(root: Path, tests: str) -> Path:
    (root / "trdemo").mkdir(parents=True)
    (root / "extension.toml").write_text(MANIFEST)
    (root / "trdemo" / "__init__.py").write_text("")
    (root / "trdemo" / "extension.py").write_text("class Demo:\n    pass\n")
    (root / "tests").mkdir()
    (root / "tests" / "test_demo.py").write_text(textwrap.dedent(tests))
    return root


def test_the_run_sees_neither_the_parent_nor_a_key_and_cannot_change_its_code(
        tmp_path: Path, sandbox_status: SandboxStatus) -> None:
    secret = tmp_path / "parent-secret.txt"
    secret.write_text("only the parent may read this")
    root = _extension(tmp_path / "ext", f"""\
        import os
        from pathlib import Path

        import pytest

        import trdemo.extension as code

        def test_the_parents_files_do_not_exist():
            assert not Path({str(secret)!r}).exists()
            assert not Path({str(tmp_path)!r}).exists()

        def test_no_key_in_the_environment():
            assert "GNUPGHOME" not in os.environ
            assert not any("KEY" in name or "DUFFLEBAG" in name for name in os.environ)

        def test_the_code_under_test_is_read_only():
            with pytest.raises(OSError):
                with open(code.__file__, "a") as f:
                    f.write("# changed by a test")

        def test_no_network():
            import socket
            with pytest.raises(OSError):
                socket.create_connection(("1.1.1.1", 53), timeout=2)
        """)
    with TestRunner(load_manifest(root), sandbox=True) as runner:
        run = runner.result()
        counts = parse_junit(run.junit)
        assert run.exit_code == 0, run.output_tail
        assert counts is not None and counts.passed == 4
        assert run.sandbox is not None and run.sandbox["tool"] == "bubblewrap"
        assert run.ran_at != root  # a copy, not the author's folder
    assert "changed by a test" not in (root / "trdemo" / "extension.py").read_text()


def test_a_daemon_started_by_a_test_ends_with_the_run(
        tmp_path: Path, sandbox_status: SandboxStatus) -> None:
    marker = "317.25"
    root = _extension(tmp_path / "ext", f"""\
        import os, subprocess

        def test_leaves_a_daemon():
            if os.fork() == 0:
                os.setsid()
                subprocess.Popen(["sleep", {marker!r}], start_new_session=True)
                os._exit(0)
        """)
    with TestRunner(load_manifest(root), sandbox=True) as runner:
        run = runner.result()
        assert run.exit_code == 0, run.output_tail
    left = [p for p in psutil.process_iter(["cmdline"])
            if p.info["cmdline"] and marker in p.info["cmdline"]]
    assert left == []


def test_a_results_file_turned_into_a_link_is_not_followed(
        tmp_path: Path, sandbox_status: SandboxStatus) -> None:
    root = _extension(tmp_path / "ext", """\
        import atexit, os, sys

        def _swap():
            junit = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--junitxml="))
            os.replace(junit, junit + ".real") if os.path.exists(junit) else None
            os.symlink("/etc/passwd", junit)

        def test_plants_a_link():
            atexit.register(_swap)
        """)
    with TestRunner(load_manifest(root), sandbox=True) as runner:
        run = runner.result()
        assert run.junit is None
        assert "JUnit report not read" in run.output_tail
