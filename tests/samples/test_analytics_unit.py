"""Smoke: the sample extensions' own suites pass under the authors' pytest plugin.

Runs them the way an author does (a separate pytest, plugin autoload off, the
plugin named with ``-p``), so a change to the plugin, the host or the SDK that
breaks an author's tests shows up here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str, cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    paths = [str(ROOT), str(path or ""), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "dufflebag_harness.fixtures.plugin",
         "-p", "no:cacheprovider",
         "-q", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False,
    )


@pytest.mark.parametrize(
    ("folder", "at_least"),
    [("sample_extensions/analytics", 30), ("harness/outside/runner/companion", 5)],
)
def test_sample_suite_passes_under_the_plugin(folder: str, at_least: int) -> None:
    done = _pytest("tests", cwd=ROOT / folder)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed is not None and int(passed.group(1)) >= at_least, done.stdout[-500:]


def test_plugin_names_what_is_missing_without_an_extension(tmp_path: Path) -> None:
    (tmp_path / "test_lonely.py").write_text(
        "def test_needs_host(dufflebag_host):\n    pass\n", encoding="utf-8"
    )
    done = _pytest("--rootdir", str(tmp_path), "test_lonely.py", cwd=tmp_path)
    assert done.returncode != 0
    assert f"no extension.toml in {tmp_path}" in done.stdout + done.stderr


def test_plugin_reports_an_extension_that_fails_to_load(tmp_path: Path) -> None:
    (tmp_path / "test_bad.py").write_text(
        "def test_needs_host(dufflebag_host):\n    pass\n", encoding="utf-8"
    )
    done = _pytest("--rootdir", str(tmp_path), "--dufflebag-extension",
                   "rogue_bad_host_range.extension:Rogue", "test_bad.py", cwd=tmp_path,
                   path=ROOT / "sample_extensions" / "rogues" / "bad_host_range")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "extension 'bad_host_range' did not load: host_api '>=2.0,<3'" in done.stdout


def test_plugin_refuses_an_unknown_marker_argument(tmp_path: Path) -> None:
    (tmp_path / "test_marked.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.dufflebag(colour='blue')\n"
        "def test_marked(dufflebag_host):\n    pass\n", encoding="utf-8"
    )
    done = _pytest("--rootdir", str(tmp_path), "--dufflebag-extension",
                   "companion.extension:SmallExtension", "test_marked.py", cwd=tmp_path,
                   path=ROOT / "harness" / "outside" / "runner" / "companion")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "@pytest.mark.dufflebag: unknown argument 'colour'" in done.stdout
